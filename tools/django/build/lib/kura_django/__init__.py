"""Kura backups for a Django site: the `backup_data` and `restore_data` management commands and an
admin "Backups" page, all driving the `kura` binary (https://…/kura, see tools/django/README.md)."""
