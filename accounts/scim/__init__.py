"""SCIM 2.0 provisioning (RFC 7643 and RFC 7644) at ``/scim/v2/``.

An identity provider (Entra ID, Okta, …) creates, updates and deactivates people here with a
provisioning bearer token an administrator made (``accounts.models.ScimToken``). Written
on DRF rather than on django-scim2, whose releases require Django < 6.1.

How SCIM maps onto Engage:

- A **User** is a person. ``userName`` is their email (Engage signs in by email), ``id`` is
  Engage's id, ``externalId`` the provider's, ``name``/``displayName`` the name,
  ``active`` whether they may sign in. The enterprise extension's ``department`` names a
  department by slug or name. People provisioned here have no password: they sign in by
  single sign-on.
- A **Group** is a department (id ``dept-<n>``, ``displayName`` its name) or, by rule, a
  role: the five groups ``role:employee``, ``role:curator``, ``role:reviewer``,
  ``role:executive`` and ``role:admin`` (ids ``role-<slug>``) always exist. Membership of a
  department group is the person's department (a person is in one department at most, so
  joining one leaves the other); membership of a role group is holding the role
  (``employee`` is held by everyone and cannot be removed).
- **DELETE** of a User deactivates the person (every session and token ends at once) and
  keeps them; erasing someone stays an administrator's decision in Engage's admin. A later
  GET shows them with ``active: false``, and ``PATCH active: true`` brings them back.
- Every change goes through ``accounts.services`` and is audited (``AccountEvent``,
  source ``scim``, with the token's prefix).
"""
