import pytest
from django.apps import apps

from tenants.models import Membership, Tenant, Widget
from tenants.scoping import TenantOwnedModel, TenantScopedManager, TenantScopeError


def tenant_owned_models():
    for model in apps.get_models():
        field = next((f for f in model._meta.concrete_fields if f.name == "tenant"), None)
        if field is not None and field.related_model is Tenant:
            yield model


def test_every_tenant_owned_model_has_the_fail_closed_manager():
    models = list(tenant_owned_models())
    assert Widget in models and Membership in models
    for model in models:
        assert issubclass(model, TenantOwnedModel), f"{model.__name__} must inherit TenantOwnedModel"
        assert isinstance(model._default_manager, TenantScopedManager), f"{model.__name__} default manager is not scoped"


@pytest.mark.django_db
def test_unscoped_queries_are_refused(team_a):
    for model in tenant_owned_models():
        with pytest.raises(TenantScopeError):
            list(model.objects.all())
        with pytest.raises(TenantScopeError):
            model.objects.filter(pk=1).exists()
        with pytest.raises(TenantScopeError):
            model.objects.count()
        with pytest.raises(TenantScopeError):
            model.objects.all().update()
        with pytest.raises(TenantScopeError):
            model.objects.all().delete()


@pytest.mark.django_db
def test_a_filter_on_a_joined_tenant_does_not_count_as_scope(team_a):
    # tenant__slug joins the tenant table: that is not a constraint on Membership.tenant_id.
    with pytest.raises(TenantScopeError):
        list(Membership.objects.filter(tenant__slug="alpha"))
    with pytest.raises(TenantScopeError):
        list(Membership.objects.exclude(tenant=team_a.tenant))


@pytest.mark.django_db
def test_scoped_queries_see_only_their_tenant(team_a, team_b):
    assert set(Membership.objects.for_tenant(team_a.tenant).values_list("tenant_id", flat=True)) == {team_a.tenant.pk}
    assert Membership.objects.filter(tenant=team_b.tenant).count() == 3
    assert Membership.all_tenants.count() == 6
