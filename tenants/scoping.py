"""Fail-closed tenant scoping for the ORM (DESIGN.md, "Tenancy", layer 2).

Every tenant-owned model inherits `TenantOwnedModel`. Its default manager returns a
queryset that refuses to run (raises `TenantScopeError`) unless it is filtered on the
model's own `tenant` column: either through `.for_tenant(tenant)` or a plain
`.filter(tenant=...)` (which is what Django's related managers do). Code that really must
cross tenants (schedulers, retraining, the demo seeder) says so by using the
`all_tenants` manager, which is easy to grep for.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.db import models
from django.db.models.lookups import Exact, In
from django.db.models.sql.where import AND, WhereNode

if TYPE_CHECKING:
    from tenants.models import Tenant


class TenantScopeError(RuntimeError):
    """A query on a tenant-owned model ran without a tenant in scope."""


class TenantScopedQuerySet(models.QuerySet):
    def for_tenant(self, tenant: Tenant | int) -> TenantScopedQuerySet:
        tenant_id = tenant if isinstance(tenant, int) else tenant.pk
        if tenant_id is None:
            raise TenantScopeError(f"{self.model.__name__}: for_tenant() got an unsaved tenant")
        return self.filter(tenant_id=tenant_id)

    def _check_scope(self) -> None:
        base_table = self.model._meta.db_table
        if _where_pins_tenant_on(self.query.where, base_table):
            return
        raise TenantScopeError(
            f"query on {self.model.__name__} has no tenant in scope: use "
            f"{self.model.__name__}.objects.for_tenant(tenant) (or .all_tenants for deliberate cross-tenant code)"
        )

    def _fetch_all(self) -> None:
        if self._result_cache is None:
            self._check_scope()
        super()._fetch_all()

    def iterator(self, *args: Any, **kwargs: Any) -> Any:
        self._check_scope()
        return super().iterator(*args, **kwargs)

    def count(self) -> int:
        if self._result_cache is None:
            self._check_scope()
        return super().count()

    def exists(self) -> bool:
        if self._result_cache is None:
            self._check_scope()
        return super().exists()

    def aggregate(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        self._check_scope()
        return super().aggregate(*args, **kwargs)

    def update(self, **kwargs: Any) -> int:
        self._check_scope()
        return super().update(**kwargs)

    def delete(self) -> tuple[int, dict[str, int]]:
        self._check_scope()
        return super().delete()


def _where_pins_tenant_on(node: WhereNode, base_table: str) -> bool:
    if node.negated or node.connector != AND:
        return False
    for child in node.children:
        if isinstance(child, WhereNode):
            if _where_pins_tenant_on(child, base_table):
                return True
            continue
        if not isinstance(child, (Exact, In)):
            continue
        lhs = child.lhs
        target = getattr(lhs, "target", None)
        if target is None or target.attname != "tenant_id":
            continue
        # The tenant column must be this model's own, not a joined table's.
        if getattr(target.model._meta, "db_table", None) == base_table or lhs.alias == base_table:
            return True
    return False


class TenantScopedManager(models.Manager.from_queryset(TenantScopedQuerySet)):  # type: ignore[misc]
    """Default manager of tenant-owned models: fail-closed (see module docstring)."""


class TenantOwnedModel(models.Model):
    tenant = models.ForeignKey("tenants.Tenant", on_delete=models.CASCADE, related_name="+")

    objects = TenantScopedManager()
    # Deliberately named escape hatch for cross-tenant code.
    all_tenants = models.Manager()

    class Meta:
        abstract = True
