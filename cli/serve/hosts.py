"""Which `Host` names the server answers to: a defence against DNS rebinding.

A web page on another site can make the browser send requests to 127.0.0.1 by pointing a name
it controls there (DNS rebinding); the browser then lets the page read the answers, since to
the browser they come from the page's own site. The request still carries that site's name in
its `Host` header, so a server that answers only its own names is out of reach.
"""

from __future__ import annotations

import ipaddress
import socket
from typing import Any

LOOPBACK_NAMES = frozenset({"localhost", "localhost.", "ip6-localhost"})


ANY_ADDRESS = "*"
"""In `allowed_hosts`: any IP address will do (the server listens on all of this machine's)."""


def allowed_hosts(bound: str) -> frozenset[str]:
    """The Host names this server answers to: loopback names and addresses, and the bound
    address; bound to every address (0.0.0.0, ::), also any IP address and this machine's name.

    A DNS-rebinding page reaches the server under its own domain name, which is never here.
    """
    names = set(LOOPBACK_NAMES) | {"127.0.0.1", "::1", _address_or_name(bound)}
    if bound in ("", "0.0.0.0", "::"):
        names |= {socket.gethostname().lower(), socket.getfqdn().lower(), ANY_ADDRESS}
    return frozenset(names)


def host_allowed(header: str, hosts: frozenset[str]) -> bool:
    """Whether a Host header (`name`, `name:port`, `[v6]:port`) names one of `hosts`."""
    value = header.strip().lower()
    if value.startswith("["):
        name = value[1 : value.find("]")] if "]" in value else value
    else:
        name = value.rsplit(":", 1)[0] if value.count(":") == 1 else value
    name = _address_or_name(name)
    return name in hosts or (ANY_ADDRESS in hosts and _is_ip(name))


def _is_ip(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


def _address_or_name(name: str) -> str:
    """An IP address in its canonical form (every 127.x.y.z as 127.0.0.1), else the name."""
    try:
        address = ipaddress.ip_address(name.strip().lower())
    except ValueError:
        return name.strip().lower()
    return "127.0.0.1" if address.is_loopback and address.version == 4 else str(address)


def host_problem(headers: list[str], hosts: frozenset[str], server: Any) -> str | None:
    """Why a request's Host headers are refused, or None: one header naming one of `hosts`
    (no header at all is allowed, as HTTP/1.0 does)."""
    if len(headers) > 1:
        return "more than one Host header"
    if not headers or host_allowed(headers[0], hosts):
        return None
    host, port = server.server_name, server.server_port
    shown = "127.0.0.1" if host in ("", "0.0.0.0", "::") else host
    where = f"[{shown}]:{port}" if ":" in shown else f"{shown}:{port}"
    return f"Host {headers[0][:100]!r} is not this server; open it at http://{where}/"
