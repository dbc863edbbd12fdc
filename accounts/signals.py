"""Domain signals of ``accounts``.

- ``user_erased(sender=User, user=...)``: sent inside the erasure transaction; apps that
  hold personal data about the person scrub it (keeping counts).
- ``collect_personal_data(sender=User, user=...)``: receivers return a dict of their part
  of the person's export (``{"answers": [...]}``).
"""

from django.dispatch import Signal

user_erased = Signal()
collect_personal_data = Signal()
