"""The whole authorization matrix, written out independently of permissions.ACTION_ROLES.

If an action is added or a grant changes, this table must be updated consciously.
"""

from __future__ import annotations

import itertools

import pytest

from reup_app.errors import NotAuthenticated, PermissionDenied
from reup_app.security import permissions
from reup_app.security.permissions import authorize, is_allowed
from reup_app.security.principal import ANONYMOUS, Principal, system_principal

# O owner, A admin, B buyer, S sales, F fulfillment, V viewer
EXPECTED = {
    "catalog.view": "OABSFV",
    "catalog.manage": "OAS",
    "inventory.manage": "OASF",
    "pricing.manage": "OAS",
    "cart.manage": "OAB",
    "order.place": "OAB",
    "order.cancel": "OAB",
    "order.accept": "OAS",
    "order.reject": "OAS",
    "order.edit_lines": "OAS",
    "order.fulfill": "OASF",
    "order.ship": "OASF",
    "order.complete": "OAS",
    "invoice.manage": "OAS",
    "payment.record": "OAS",
    "customer.hold": "OAS",
    "order.view": "OABSFV",
    "order.message": "OABSF",
    "invoice.view": "OABSFV",
    "dashboard.view": "OABSFV",
    "notification.view": "OABSFV",
    "team.view": "OA",
    "team.manage": "OA",
    "entity.settings": "O",
    "entity.documents": "OA",
    "audit.view": "OA",
    "integration.manage": "OA",
}
ADMIN_ONLY = {
    "entity.approve",
    "entity.suspend",
    "platform.audit.view",
    "platform.email.manage",
    "platform.jobs.manage",
    "platform.metrics.view",
    "platform.support.view",
    "user.disable",
}
ADMIN_OVERSIGHT = {
    "order.view",
    "invoice.view",
    "dashboard.view",
    "team.view",
    "audit.view",
    "integration.manage",
    "entity.documents",
}
LETTER = {"O": "owner", "A": "admin", "B": "buyer", "S": "sales", "F": "fulfillment", "V": "viewer"}
ROLES = list(LETTER.values())
ALL_ACTIONS = sorted(EXPECTED) + sorted(ADMIN_ONLY)
OWN, OTHER = 10, 20


# Business kind per action, written out independently of permissions.ACTION_KINDS:
# W = wholesalers only (and "both"), R = retailers only (and "both"); absent = either kind.
EXPECTED_KIND = {
    "catalog.manage": "W",
    "inventory.manage": "W",
    "pricing.manage": "W",
    "order.accept": "W",
    "order.reject": "W",
    "order.edit_lines": "W",
    "order.fulfill": "W",
    "order.ship": "W",
    "invoice.manage": "W",
    "payment.record": "W",
    "customer.hold": "W",
    "cart.manage": "R",
    "order.place": "R",
    "order.cancel": "R",
}
KINDS = {OWN: "both", 11: "wholesaler", 12: "retailer"}


@pytest.fixture(autouse=True)
def _kinds():
    """authorize() reads the acting business's kind through the installed lookup."""
    saved = list(permissions._kind_lookup)
    permissions.set_entity_kind_lookup(KINDS.get)
    yield
    permissions._kind_lookup[:] = saved


def test_kind_table_matches():
    letters = {permissions.SELLER_KINDS: "W", permissions.BUYER_KINDS: "R"}
    assert {a: letters[k] for a, k in permissions.ACTION_KINDS.items()} == EXPECTED_KIND
    assert set(permissions.ACTION_KINDS) <= set(permissions.ACTION_ROLES)


@pytest.mark.parametrize(("kind", "action"), list(itertools.product(["wholesaler", "retailer"], sorted(EXPECTED))))
def test_owner_of_each_kind(kind, action):
    """Even the owner of a retailer may not do a seller-only action, and vice versa."""
    entity = 11 if kind == "wholesaler" else 12
    p = member("owner", entity)
    need = EXPECTED_KIND.get(action)
    allowed = expected_for_role(action, "owner") and (need is None or need == kind[0].upper())
    if allowed:
        authorize(p, action, entity)
    else:
        with pytest.raises(PermissionDenied) as err:
            authorize(p, action, entity)
        assert str(err.value) == ("Only wholesalers can do that." if need == "W" else "Only retailers can do that.")


def test_unknown_kind_is_refused():
    with pytest.raises(PermissionDenied):
        authorize(member("owner", 99), "pricing.manage", 99)


def test_matrix_covers_every_action():
    assert set(EXPECTED) == set(permissions.ACTION_ROLES)
    assert ADMIN_ONLY == set(permissions.ADMIN_ONLY_ACTIONS)
    assert ADMIN_OVERSIGHT == set(permissions.ADMIN_OVERSIGHT_ACTIONS)


def member(role: str, entity_id: int = OWN) -> Principal:
    return Principal(user_id=1, entity_id=entity_id, roles=frozenset({role}), token_version=1)


def expected_for_role(action: str, role: str) -> bool:
    if action in ADMIN_ONLY:
        return False
    return role in {LETTER[c] for c in EXPECTED[action]}


@pytest.mark.parametrize(("role", "action"), list(itertools.product(ROLES, ALL_ACTIONS)))
def test_member_on_own_entity(role, action):
    p = member(role)
    allowed = expected_for_role(action, role)
    assert is_allowed(p, action, OWN) is allowed
    if allowed:
        authorize(p, action, OWN)
    else:
        with pytest.raises(PermissionDenied):
            authorize(p, action, OWN)


@pytest.mark.parametrize(("role", "action"), list(itertools.product(ROLES, ALL_ACTIONS)))
def test_member_on_other_entity_is_always_refused(role, action):
    p = member(role)
    assert is_allowed(p, action, OTHER) is False
    with pytest.raises(PermissionDenied):
        authorize(p, action, OTHER)


@pytest.mark.parametrize(("role", "action"), list(itertools.product(ROLES, sorted(EXPECTED))))
def test_member_without_target_entity_is_refused(role, action):
    assert is_allowed(member(role), action, None) is False


@pytest.mark.parametrize("action", ALL_ACTIONS)
def test_member_with_no_roles_is_refused(action):
    p = Principal(user_id=1, entity_id=OWN, roles=frozenset(), token_version=1)
    assert is_allowed(p, action, OWN) is False


@pytest.mark.parametrize("action", ALL_ACTIONS)
@pytest.mark.parametrize("entity_id", [OWN, None])
def test_anonymous_is_refused_with_not_authenticated(action, entity_id):
    assert is_allowed(ANONYMOUS, action, entity_id) is False
    with pytest.raises(NotAuthenticated):
        authorize(ANONYMOUS, action, entity_id)


@pytest.mark.parametrize("action", ALL_ACTIONS)
def test_user_principal_without_user_id_is_refused(action):
    p = Principal(user_id=None, entity_id=OWN, roles=frozenset({"owner"}))
    with pytest.raises(NotAuthenticated):
        authorize(p, action, OWN)


@pytest.mark.parametrize("action", ALL_ACTIONS)
@pytest.mark.parametrize("entity_id", [OWN, OTHER, None])
def test_platform_admin(action, entity_id):
    p = Principal(user_id=99, is_platform_admin=True, token_version=1)
    allowed = action in ADMIN_ONLY or action in ADMIN_OVERSIGHT
    assert is_allowed(p, action, entity_id) is allowed
    if not allowed:  # admins moderate and oversee; they never trade
        with pytest.raises(PermissionDenied):
            authorize(p, action, entity_id)


@pytest.mark.parametrize("action", ALL_ACTIONS)
def test_platform_admin_acting_as_member_keeps_admin_rights_and_member_rights(action):
    p = Principal(user_id=99, entity_id=OWN, roles=frozenset({"buyer"}), is_platform_admin=True, token_version=1)
    expected = action in ADMIN_ONLY or action in ADMIN_OVERSIGHT or expected_for_role(action, "buyer")
    assert is_allowed(p, action, OWN) is expected


@pytest.mark.parametrize("action", ALL_ACTIONS)
@pytest.mark.parametrize("entity_id", [OWN, OTHER, None])
def test_system_may_do_everything(action, entity_id):
    assert is_allowed(system_principal("job"), action, entity_id) is True
    authorize(system_principal("job"), action, entity_id)


@pytest.mark.parametrize("p", [ANONYMOUS, system_principal(), member("owner")])
def test_unknown_action_is_a_programming_error(p):
    with pytest.raises(KeyError):
        is_allowed(p, "order.teleport", OWN)


def test_multiple_roles_union():
    p = Principal(user_id=1, entity_id=OWN, roles=frozenset({"buyer", "fulfillment"}), token_version=1)
    assert is_allowed(p, "order.place", OWN) and is_allowed(p, "order.ship", OWN)
    assert not is_allowed(p, "catalog.manage", OWN)


def test_read_only_support_principal_may_only_look():
    from reup_app.security.principal import support_view

    admin = Principal(user_id=1, is_platform_admin=True)
    viewer = support_view(admin, 7)
    assert viewer.read_only and viewer.entity_id == 7
    for action in list(permissions.ACTION_ROLES) + list(permissions.ADMIN_ONLY_ACTIONS):
        expected = action in permissions.READ_ONLY_ACTIONS
        assert permissions.is_allowed(viewer, action, 7) is expected, action
