"""The inbound routing extensions and their methods, as FAXCOMEX describes them.

An extension is a named set of methods, each named by a GUID with a friendly name and the
name of the function that implements it. OpenFax's own extension (store in folder, e-mail,
print, webhook) is always there. Third-party extensions are Python entry points in the group
``openfax.routing_methods``: ``register_inbound_routing_extension`` records one (its entry
point's name is the FAXCOMEX image name, its methods ``"Name;FriendlyName;Function;{GUID}"``)
and it is loaded at the next start; its status and load error say how that went.

The entry point names a module or an object whose attributes are the method functions (see
:data:`~openfax.routing.fax.RouteFunction`); an optional ``check_<function>`` checks that
method's configuration, and an optional ``initialize()`` runs once when it is loaded.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from openfax.errors import ConfigError
from openfax.model import ProviderStatus
from openfax.plugins import failure, load_entry_point
from openfax.routing import folder, mail, printer, webhook
from openfax.routing.fax import RouteFunction, normalize_guid
from openfax.routing.settings import free_form

_logger = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "openfax.routing_methods"
BUILTIN_EXTENSION = "openfax"
"""The unique name of OpenFax's own routing extension."""
LAST = 999999
"""A priority that sorts after every other, as FAXCOMEX's documentation suggests."""

Check = Callable[[Mapping[str, Any]], dict[str, Any]]


@dataclass(frozen=True, kw_only=True)
class MethodSpec:
    """One method of a registration, FAXCOMEX's ``"Name;FriendlyName;Function;{GUID}"``."""

    name: str
    friendly_name: str
    function_name: str
    guid: str

    @classmethod
    def parse(cls, text: str) -> MethodSpec:
        """Read the FAXCOMEX form; ConfigError naming what is wrong."""
        parts = [part.strip() for part in str(text).split(";")]
        if len(parts) != 4 or not all(parts):
            raise ConfigError(
                "routing extension",
                "methods",
                f"{text!r} is not Name;FriendlyName;Function;{{GUID}}",
            )
        guid = normalize_guid(parts[3])
        if guid is None:
            raise ConfigError("routing extension", "methods", f"{parts[3]!r} is not a GUID")
        if not parts[2].isidentifier():
            raise ConfigError(
                "routing extension", "methods", f"{parts[2]!r} is not a Python function name"
            )
        return cls(name=parts[0], friendly_name=parts[1], function_name=parts[2], guid=guid)

    def __str__(self) -> str:
        return f"{self.name};{self.friendly_name};{self.function_name};{self.guid}"


@dataclass(frozen=True, kw_only=True)
class Registration:
    """A third-party extension as ``register_inbound_routing_extension`` recorded it."""

    unique_name: str
    friendly_name: str
    image_name: str
    """The name of its entry point in the group ``openfax.routing_methods``."""
    methods: tuple[MethodSpec, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "unique_name": self.unique_name,
            "friendly_name": self.friendly_name,
            "image_name": self.image_name,
            "methods": [str(method) for method in self.methods],
        }

    @classmethod
    def from_json(cls, value: Mapping[str, Any]) -> Registration:
        return cls(
            unique_name=value["unique_name"],
            friendly_name=value["friendly_name"],
            image_name=value["image_name"],
            methods=tuple(MethodSpec.parse(m) for m in value["methods"]),
        )


@dataclass(frozen=True, kw_only=True)
class RoutingMethod:
    """FAXCOMEX ``FaxInboundRoutingMethod`` without its priority (the service keeps that)."""

    guid: str
    name: str
    friendly_name: str
    function_name: str
    extension_unique_name: str
    extension_friendly_name: str
    extension_image_name: str
    route: RouteFunction | None = field(compare=False)
    """None when its extension did not load."""
    check: Check = field(compare=False)
    owner: object = field(default=None, compare=False)
    """The loaded module or object the method's function belongs to (None when its
    extension did not load): the service tells it when the method's GUID's extension
    property is set, if it has ``on_extension_property``."""


@dataclass(frozen=True, kw_only=True)
class RoutingExtension:
    """FAXCOMEX ``FaxInboundRoutingExtension``: what was registered and how loading went."""

    unique_name: str
    friendly_name: str
    image_name: str
    version: str
    methods: tuple[str, ...]
    status: ProviderStatus
    init_error: str = ""


_BUILTINS = (
    ("Folder", "Store in a folder", "store_in_folder", folder.STORE_IN_FOLDER, folder),
    ("Email", "Route through e-mail", "send_email", mail.ROUTE_TO_EMAIL, mail),
    ("Printer", "Print", "print_fax", printer.PRINT, printer),
    ("Webhook", "Post to a webhook", "post_webhook", webhook.WEBHOOK, webhook),
)


class Registry:
    """The extensions loaded at start and their methods by GUID, in load order."""

    def __init__(self, extensions: Sequence[RoutingExtension], methods: Sequence[RoutingMethod]):
        self.extensions = {extension.unique_name: extension for extension in extensions}
        self.methods = {method.guid: method for method in methods}

    def owner_of(self, guid: str) -> object:
        """The loaded module or object of the method named by ``guid`` (None if none)."""
        method = self.methods.get(guid)
        return None if method is None else method.owner

    @classmethod
    def load(cls, registrations: Sequence[Registration]) -> Registry:
        """OpenFax's methods, then each registered extension's, loaded from its entry point."""
        from openfax import __version__

        builtin = RoutingExtension(
            unique_name=BUILTIN_EXTENSION,
            friendly_name="OpenFax routing methods",
            image_name="openfax.routing",
            version=__version__,
            methods=tuple(guid for *_, guid, _module in _BUILTINS),
            status=ProviderStatus.SUCCESS,
        )
        extensions = [builtin]
        methods = [
            RoutingMethod(
                guid=guid,
                name=name,
                friendly_name=friendly,
                function_name=function,
                extension_unique_name=builtin.unique_name,
                extension_friendly_name=builtin.friendly_name,
                extension_image_name=builtin.image_name,
                route=module.route,
                check=module.check,
                owner=module,
            )
            for name, friendly, function, guid, module in _BUILTINS
        ]
        for registration in registrations:
            taken = {method.guid for method in methods}
            extension, loaded = _load(registration, taken)
            if extension.status is not ProviderStatus.SUCCESS:
                _logger.error(
                    "routing extension %s did not load (%s): %s",
                    extension.unique_name,
                    extension.status.name,
                    extension.init_error,
                )
            extensions.append(extension)
            methods.extend(loaded)
        return cls(extensions, methods)


def _load(
    registration: Registration, taken: set[str]
) -> tuple[RoutingExtension, list[RoutingMethod]]:
    """Load one registered extension; its status says what went wrong, if anything did."""
    status, error, version = ProviderStatus.SUCCESS, "", ""
    target: Any = None
    clash = [m.guid for m in registration.methods if m.guid in taken]
    if clash:
        status, error = ProviderStatus.BAD_GUID, f"GUID {clash[0]} is already another method's"
    else:
        found = load_entry_point(ENTRY_POINT_GROUP, registration.image_name)
        status, error, version, target = found.status, found.error, found.version, found.target
    if status is ProviderStatus.SUCCESS:
        missing = [
            m.function_name
            for m in registration.methods
            if not callable(getattr(target, m.function_name, None))
        ]
        if missing:
            status = ProviderStatus.CANT_LINK
            error = f"{registration.image_name} has no function {missing[0]}"
    if status is ProviderStatus.SUCCESS and callable(getattr(target, "initialize", None)):
        try:
            target.initialize()
        except Exception as exc:
            status, error = ProviderStatus.CANT_INIT, failure(exc)
    loaded = status is ProviderStatus.SUCCESS
    extension = RoutingExtension(
        unique_name=registration.unique_name,
        friendly_name=registration.friendly_name,
        image_name=registration.image_name,
        version=version,
        methods=tuple(m.guid for m in registration.methods),
        status=status,
        init_error=error,
    )
    methods = [
        RoutingMethod(
            guid=m.guid,
            name=m.name,
            friendly_name=m.friendly_name,
            function_name=m.function_name,
            extension_unique_name=registration.unique_name,
            extension_friendly_name=registration.friendly_name,
            extension_image_name=registration.image_name,
            route=getattr(target, m.function_name) if loaded else None,
            check=_checker(target if loaded else None, m),
            owner=target if loaded else None,
        )
        for m in registration.methods
        if m.guid not in taken
    ]
    return extension, methods


def _checker(target: Any, method: MethodSpec) -> Check:
    """The plug-in's ``check_<function>`` if it has one (what it raises becomes a ConfigError
    naming the method), else any JSON object is accepted."""
    check = getattr(target, f"check_{method.function_name}", None)
    if not callable(check):
        return partial(free_form, method.friendly_name)

    def checked(configuration: Mapping[str, Any]) -> dict[str, Any]:
        source = f"routing method {method.friendly_name}"
        try:
            value = check(dict(configuration))
        except ConfigError:
            raise
        except Exception as exc:
            raise ConfigError(source, "(configuration)", str(exc) or type(exc).__name__) from exc
        try:
            json.dumps(value)
        except (TypeError, ValueError) as exc:
            raise ConfigError(source, "(configuration)", f"the check gave {exc}") from exc
        if not isinstance(value, dict):
            raise ConfigError(source, "(configuration)", f"the check gave {value!r}, not an object")
        return free_form(method.friendly_name, value)

    return checked
