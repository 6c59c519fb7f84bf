from tokenecon.permissions import is_learner, is_staff, is_teacher
from tokenecon.staticfiles import HTMX_STATIC, PLOTLY_JS_STATIC


def roles(request) -> dict:
    user = request.user
    return {
        "user_is_teacher": is_teacher(user),
        "user_is_learner": is_learner(user),
        "user_is_staff": is_staff(user),
    }


def vendored_assets(request) -> dict:
    """Static paths of the vendored JavaScript, whose names carry their versions."""
    return {"htmx_js": HTMX_STATIC, "plotly_js": PLOTLY_JS_STATIC}
