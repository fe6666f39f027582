#ifndef KURA_CURL_H
#define KURA_CURL_H

#include <stddef.h>
#include <stdio.h>

/// One HTTP request through libcurl, signed with AWS SigV4 when `sigv4` is set (Swift cannot call
/// libcurl's variadic setopt/getinfo, so the whole request is set up here). Returns 0 and the HTTP
/// status in `*status`, or a CURLcode with its message in `error` (256 bytes).
/// Receives the response body as it arrives, with the response's HTTP status.
typedef size_t (*kura_curl_write_fn)(const char *data, size_t size, long status, void *context);

typedef struct kura_curl_request {
    const char *method;          // "GET", "HEAD", "PUT", "POST", "DELETE"
    const char *url;
    const char *const *headers;  // "Name: value" lines
    size_t header_count;
    const char *sigv4;           // e.g. "aws:amz:us-east-1:s3"; NULL: unsigned
    const char *username;        // the access key id, for SigV4
    const char *password;        // the secret access key, for SigV4
    FILE *upload;                // PUT or POST body, NULL for none
    long long upload_length;
    kura_curl_write_fn write;    // response body, NULL to discard
    void *write_context;
    long timeout_seconds;        // whole request; 0: none
    long connect_timeout_seconds;
    long stall_seconds;          // fail when under 1 KiB/s for this long; 0: never
} kura_curl_request;

/// A reusable handle (its connection stays open between requests).
void *kura_curl_new(void);
void kura_curl_free(void *handle);
int kura_curl_perform(void *handle, const kura_curl_request *request, long *status, long long *content_length, char *error);
void kura_curl_global_init(void);

#endif
