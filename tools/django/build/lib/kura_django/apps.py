from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class KuraDjangoConfig(AppConfig):
    name = "kura_django"
    verbose_name = _("Backups")
    default_auto_field = "django.db.models.AutoField"
