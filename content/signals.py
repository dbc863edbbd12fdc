"""Domain signals of ``content``.

``activity`` — what people did with approved messaging, for the participation log.

Sent with ``config.activity.announce(activity, sender=<model>, activity=Activity(...))``,
so receivers get it only once the transaction that made the change has committed, with
one keyword argument ``activity`` (a :class:`config.activity.Activity`). ``content`` never
imports ``engage``: ``engage`` connects a receiver and appends each one to its log, where
``key`` makes a second delivery of the same fact count once.

=====================  ==================  ==================  ==========================================
kind                   sender / object     actor               key, data
=====================  ==================  ==================  ==========================================
``message_published``  Message /           the author; its     ``message_published:<message id>``
                       ``content.message``  department then   (a message is published once, the first
                                                               time it goes live; ``occurred_at`` is when
                                                               it became visible, even if the job ran
                                                               late). data: ``approved_by``,
                                                               ``revision_id``
``message_shared``     Share /             the sharer; their   ``message_shared:<share id>``;
                       ``content.message``  department then    data: ``share_id``, ``channel``
``share_link_clicked`` ShareClick /        ``None`` (a         ``share_link_clicked:<click id>``
                       ``content.message``  visitor);          (counted once per visitor and day, bots
                                           ``department_id``   left out); data: ``share_id``,
                                           is the sharer's     ``sharer_id``, ``channel``
                                           department when
                                           they shared
``toolkit_item_used``  ToolkitItemUse /    the person; their   ``toolkit_item_used:<item id>:
                       ``content.toolkit``  department then    <person id>:<YYYY-MM-DD>`` (once per
                                                               person, item and day); data: ``item_id``,
                                                               ``item_kind``, ``message_id`` /
                                                               ``course_id`` where the item has one
=====================  ==================  ==================  ==========================================

``object_id`` is the message's id (the toolkit's for ``toolkit_item_used``).
Keys are built by :func:`config.activity.activity_key`, in the one format every app uses.
"""

from django.dispatch import Signal

activity = Signal()
