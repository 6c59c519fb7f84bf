from tokenecon.permissions import is_learner, is_staff, is_teacher


def roles(request) -> dict:
    user = request.user
    return {
        "user_is_teacher": is_teacher(user),
        "user_is_learner": is_learner(user),
        "user_is_staff": is_staff(user),
    }
