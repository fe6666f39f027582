from django.db import models


class Student(models.Model):
    name = models.CharField(max_length=100)
    photo = models.FileField(upload_to="profile_photos/", blank=True)


class Payment(models.Model):
    student = models.ForeignKey(Student, on_delete=models.CASCADE, related_name="payments")
    amount = models.DecimalField(max_digits=10, decimal_places=2)
    paid_on = models.DateField()
    receipt = models.FileField(upload_to="payment_receipts/", blank=True)
