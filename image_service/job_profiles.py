"""Profiles from the API's jobs, refused before any work when they cannot be served."""

from __future__ import annotations

from pydantic import ValidationError

from imagescaler.imaging.profiles import Profile
from imagescaler.runtime.errors import InvalidRequest


def profile_from_job(profile_json: str, max_pixels: int, max_reply_bytes: int) -> Profile:
    """The job's profile, refused before any work when its output could exceed the pixel
    limit or the reply message limit (the API's own profiles never do)."""
    try:
        profile = Profile.model_validate_json(profile_json)
    except ValidationError as error:
        raise InvalidRequest(f"the job's profile is invalid: {error.errors()[0]['msg']}") from None
    problem = profile.output_problem(max_pixels, max_reply_bytes)
    if problem is not None:
        raise InvalidRequest(problem)
    return profile
