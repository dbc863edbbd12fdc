"""Domain signals of ``training``.

``activity`` — what people did in training, for the participation log (PHASE-MODEL.md).
Sent with :func:`config.activity.announce`, so only after the change committed, with one
keyword argument, ``activity`` (a :class:`config.activity.Activity`)::

    activity.send(sender=<model class>, activity=Activity(...))

=========================  =====================  ==============================================
kind                       sender / object_type   when, and its ``key``
=========================  =====================  ==============================================
``course_completed``       ``Attempt`` /          a passing attempt (a renewal's pass too);
                           ``training.course``    ``course_completed:{attempt_id}``
``certification_earned``   ``Certification`` /    a certification issued or renewed by a pass;
                           ``training.            ``certification_earned:{certification_id}``
                           certification``
``certification_expired``  ``Certification`` /    a certification reached its ``expires_at``
                           ``training.            without being renewed first (announced once by
                           certification``        the expiry job, ``occurred_at`` = ``expires_at``);
                                                  ``certification_expired:{id}:{expires_at iso}``
=========================  =====================  ==============================================

Every activity carries ``actor_id`` (the person), ``department_id`` (their department
at the time), ``occurred_at``, ``object_type``/``object_id`` and ``data``:
``{"course_id", "score"}`` for completions, ``{"course_id", "grants", "expires_at",
"renewal"}`` for certifications. The same fact always has the same ``key``, so a second
delivery counts once.

Whether someone holds a privilege *now* (or at any past moment) is not an event: ask
:func:`training.selectors.user_holds_privilege`, or
:func:`training.selectors.privilege_holder_ids` for many people at once.
"""

from django.dispatch import Signal

activity = Signal()
