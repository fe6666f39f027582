from django.db import models
from django.utils.translation import gettext_lazy as _


class Backup(models.Model):
    """No table: this model only gives the admin its "Backups" entry, permissions and log entries."""

    class Meta:
        managed = False
        verbose_name = _("backup")
        verbose_name_plural = _("backups")
        default_permissions = ()
