"""The open pixel and the click redirect. They need no sign-in (a mail program opens
them) and belong to no workspace: the signed token names the delivery, and the click's
names the one URL it may lead to. A token that is not ours is a 404, never a redirect
elsewhere; a token of a deleted delivery still answers (the pixel, the redirect)."""

from django.contrib.auth.decorators import login_not_required
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from campaigns import services, tracking


@login_not_required
@never_cache
@require_safe
def opened(request, token):
    try:
        delivery_id = tracking.read_open(token)
    except tracking.BadToken as exc:
        raise Http404("No such message.") from exc
    if request.method == "GET":
        services.delivery_opened(delivery_id=delivery_id)
    return HttpResponse(tracking.PIXEL, content_type="image/gif")


@login_not_required
@never_cache
@require_safe
def clicked(request, token):
    try:
        delivery_id, url = tracking.read_click(token)
    except tracking.BadToken as exc:
        raise Http404("No such link.") from exc
    if request.method == "GET":
        services.delivery_clicked(delivery_id=delivery_id)
    return HttpResponseRedirect(url)
