"""The executive dashboard, the weekly phase digest and the leaderboard.

Reads only what :mod:`engage.phase` keeps (snapshots and rollups) plus, for the drill-down
and the leaderboard, rows bounded by a window. Its pages under ``/dashboard/`` are ``views`` +
``urls``.
"""
