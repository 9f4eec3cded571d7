"""The root .env.example names only settings the services really read."""

from __future__ import annotations

import re

import pytest
from deploycheck import REPO, SERVICES, Service, settings_class, settings_env_names

EXAMPLE = REPO / ".env.example"
_LINE = re.compile(r"^#?\s*([A-Z][A-Z0-9_]*)=", re.MULTILINE)


def example_names(service: Service) -> list[str]:
    return [n for n in _LINE.findall(EXAMPLE.read_text()) if n.startswith(service.prefix)]


@pytest.mark.parametrize("service", SERVICES, ids=lambda s: s.package)
def test_every_name_is_a_setting(service: Service) -> None:
    names = example_names(service)
    assert names, f"no {service.prefix} settings in .env.example"
    known = settings_env_names(settings_class(service))
    unknown = [n for n in names if n not in known]
    assert not unknown, f"{service.package} reads no setting named {unknown}"


def test_every_prefix_shows_the_common_settings() -> None:
    common = {"DATABASE_URL", "PORT"}
    for service in SERVICES:
        shown = {n.removeprefix(service.prefix) for n in example_names(service)}
        assert common <= shown, f"{service.prefix}: {common - shown} missing"
