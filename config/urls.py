from django.contrib.auth import views as auth_views
from django.urls import URLPattern, URLResolver, include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView

from mail import accounts as mail_accounts
from mail import views as mail_views
from tenants import origins as tenant_origins
from tenants import views as tenant_views

tenant_portal: list[URLPattern | URLResolver] = [
    path("", tenant_views.PortalHomeView.as_view(), name="portal-home"),
    path("", include("tenants.urls")),
    path("", include("chat.urls")),
    path("", include("ml.urls")),
    path("", include("chat.reporting.urls")),
    path("", include("mail.urls")),
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
    # Password reset: Django's views; the mail goes through the outbox (mail.accounts).
    path(
        "password-reset/",
        auth_views.PasswordResetView.as_view(
            form_class=mail_accounts.QueuedPasswordResetForm, template_name="mail/password_reset_form.html"
        ),
        name="password_reset",
    ),
    path(
        "password-reset/sent/",
        auth_views.PasswordResetDoneView.as_view(template_name="mail/password_reset_done.html"),
        name="password_reset_done",
    ),
    path(
        "reset/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(template_name="mail/password_reset_confirm.html"),
        name="password_reset_confirm",
    ),
    path(
        "reset/done/",
        auth_views.PasswordResetCompleteView.as_view(template_name="mail/password_reset_complete.html"),
        name="password_reset_complete",
    ),
    path("verify-email/<uidb64>/<token>/", mail_accounts.verify_email, name="verify-email"),
    path("mail/unsubscribe/<str:token>/", mail_views.unsubscribe, name="mail-unsubscribe"),
    path("inbound/mail/", mail_views.inbound_mail, name="mail-inbound"),
    path("widget/<str:public_key>/origin-check/", tenant_origins.origin_check, name="widget-origin-check"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("t/<slug:tenant_slug>/", include(tenant_portal)),
    path("api/t/<slug:tenant_slug>/", include(tenant_api)),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularRedocView.as_view(url_name="api-schema", template_name="api/redoc.html"), name="api-docs"),
    path("", include("chat.public_urls")),
    path("", include("ml.public_urls")),
]
