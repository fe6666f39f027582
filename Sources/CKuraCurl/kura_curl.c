#include "kura_curl.h"
#include <curl/curl.h>
#include <string.h>

void kura_curl_global_init(void) { curl_global_init(CURL_GLOBAL_DEFAULT); }

void *kura_curl_new(void) { return curl_easy_init(); }

void kura_curl_free(void *handle) { if (handle) curl_easy_cleanup((CURL *)handle); }

typedef struct { kura_curl_write_fn write; void *context; CURL *curl; } sink;

static size_t on_data(char *data, size_t size, size_t count, void *user) {
    sink *s = (sink *)user;
    if (!s->write) return size * count;
    long status = 0;
    curl_easy_getinfo(s->curl, CURLINFO_RESPONSE_CODE, &status);
    return s->write(data, size * count, status, s->context);
}

int kura_curl_perform(void *handle, const kura_curl_request *r, long *status, long long *content_length, char *error) {
    CURL *curl = (CURL *)handle;
    curl_easy_reset(curl);
    error[0] = 0;
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error);
    curl_easy_setopt(curl, CURLOPT_URL, r->url);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
    if (r->timeout_seconds > 0) curl_easy_setopt(curl, CURLOPT_TIMEOUT, r->timeout_seconds);
    if (r->connect_timeout_seconds > 0) curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, r->connect_timeout_seconds);
    if (r->stall_seconds > 0) {
        curl_easy_setopt(curl, CURLOPT_LOW_SPEED_LIMIT, 1024L);
        curl_easy_setopt(curl, CURLOPT_LOW_SPEED_TIME, r->stall_seconds);
    }
    if (strcmp(r->method, "HEAD") == 0) {
        curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
    } else if (strcmp(r->method, "PUT") == 0) {
        curl_easy_setopt(curl, CURLOPT_UPLOAD, 1L);
        curl_easy_setopt(curl, CURLOPT_READDATA, r->upload);
        curl_easy_setopt(curl, CURLOPT_INFILESIZE_LARGE, (curl_off_t)r->upload_length);
    } else if (strcmp(r->method, "POST") == 0) {
        curl_easy_setopt(curl, CURLOPT_POST, 1L);
        curl_easy_setopt(curl, CURLOPT_READDATA, r->upload);
        curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)(r->upload ? r->upload_length : 0));
    } else if (strcmp(r->method, "GET") != 0) {
        curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, r->method);
    }
    struct curl_slist *headers = NULL;
    for (size_t i = 0; i < r->header_count; i++) headers = curl_slist_append(headers, r->headers[i]);
    // An empty "Expect:" would suppress curl's 100-continue wait, but SigV4 signing would then name
    // a header that is not sent; the wait is cut short instead.
    curl_easy_setopt(curl, CURLOPT_EXPECT_100_TIMEOUT_MS, 50L);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    if (r->sigv4) {
        curl_easy_setopt(curl, CURLOPT_AWS_SIGV4, r->sigv4);
        curl_easy_setopt(curl, CURLOPT_USERNAME, r->username);
        curl_easy_setopt(curl, CURLOPT_PASSWORD, r->password);
    }
    sink s = { r->write, r->write_context, curl };
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &s);
    CURLcode code = curl_easy_perform(curl);
    curl_slist_free_all(headers);
    if (code != CURLE_OK) {
        if (!error[0]) strncpy(error, curl_easy_strerror(code), CURL_ERROR_SIZE - 1);
        return (int)code;
    }
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, status);
    curl_off_t length = -1;
    curl_easy_getinfo(curl, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &length);
    *content_length = (long long)length;
    return 0;
}
