from django.contrib.auth import views as auth_views
from django.urls import URLPattern, URLResolver, include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView

from tenants import views as tenant_views

tenant_portal: list[URLPattern | URLResolver] = [
    path("", tenant_views.PortalHomeView.as_view(), name="portal-home"),
    path("", include("tenants.urls")),
    path("", include("chat.urls")),
    path("", include("ml.urls")),
    path("", include("chat.reporting.urls")),
]
tenant_api: list[URLPattern | URLResolver] = [
    path("", include("tenants.api_urls")),
    path("", include("chat.api_urls")),
    path("", include("ml.api_urls")),
    path("", include("chat.reporting.api_urls")),
]

urlpatterns = [
    path("", tenant_views.home, name="home"),
    path("login/", tenant_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("signup/", tenant_views.signup, name="signup"),
    path("invite/<str:token>/", tenant_views.accept_invitation, name="accept-invitation"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("t/<slug:tenant_slug>/", include(tenant_portal)),
    path("api/t/<slug:tenant_slug>/", include(tenant_api)),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularRedocView.as_view(url_name="api-schema"), name="api-docs"),
    path("", include("chat.public_urls")),
    path("", include("ml.public_urls")),
]
