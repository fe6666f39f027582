from django.contrib import admin

from .models import Payment, Student

admin.site.register(Student)
admin.site.register(Payment)
