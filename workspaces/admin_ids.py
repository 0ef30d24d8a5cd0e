"""The admin reads ids the way the pages do (workspaces.params): an id that is none
('²', 10**30, text) is a form error, never a query.

Django's admin queries a refused value twice over: its autocomplete widget draws a
form with errors by filtering on the posted values (ValueError for '²', an overflow
past a bigint: a 500), and a many-to-many field checks the posted ids in one query
(the same overflow). IdSafeAdminMixin, first among a ModelAdmin's or an inline's
bases, gives them widgets and fields that drop or refuse what is not an id, and JSON
fields read by workspaces.params.loads_json (Django's would raise RecursionError on
'[' x 3000)."""

from django.contrib.admin import widgets
from django.db import models

from workspaces.params import ModelIdsField, StoredJSONField, parse_id


def _ids_only(values) -> list:
    return [v for v in values if v in ("", None) or parse_id(v) is not None]


class IdAutocompleteSelect(widgets.AutocompleteSelect):
    def optgroups(self, name, value, attr=None):
        return super().optgroups(name, _ids_only(value), attr)


class IdAutocompleteSelectMultiple(widgets.AutocompleteSelectMultiple):
    def optgroups(self, name, value, attr=None):
        return super().optgroups(name, _ids_only(value), attr)


def _by_integer_id(db_field) -> bool:
    target = db_field.target_field if hasattr(db_field, "target_field") else None
    return target is not None and target.get_internal_type() in (
        "AutoField",
        "BigAutoField",
        "IntegerField",
        "BigIntegerField",
    )


class IdSafeAdminMixin:
    def formfield_for_dbfield(self, db_field, request, **kwargs):
        if isinstance(db_field, models.JSONField):
            kwargs.setdefault("form_class", StoredJSONField)
        return super().formfield_for_dbfield(db_field, request, **kwargs)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if (
            "widget" not in kwargs
            and db_field.name in self.get_autocomplete_fields(request)
            and _by_integer_id(db_field)
        ):
            kwargs["widget"] = IdAutocompleteSelect(
                db_field, self.admin_site, using=kwargs.get("using")
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        if _by_integer_id(db_field):
            if "widget" not in kwargs and db_field.name in self.get_autocomplete_fields(request):
                kwargs["widget"] = IdAutocompleteSelectMultiple(
                    db_field, self.admin_site, using=kwargs.get("using")
                )
            kwargs.setdefault("form_class", ModelIdsField)
        return super().formfield_for_manytomany(db_field, request, **kwargs)
