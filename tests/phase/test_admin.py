import pytest

pytestmark = pytest.mark.django_db

PHASE_MODELS = ["phasesnapshot", "phaseconfig", "phaseconfigchange", "dailyrollup"]


@pytest.mark.parametrize("model", PHASE_MODELS)
def test_admins_see_the_phase_engine_rows_but_cannot_edit_them(client, admin_user, model):
    client.force_login(admin_user)
    assert client.get(f"/admin/engage/{model}/").status_code == 200
    # Written by the engine's services only (configuration changes are audited there).
    assert client.get(f"/admin/engage/{model}/add/").status_code == 403


def test_employees_do_not_reach_the_phase_admin(client, owner):
    client.force_login(owner)
    response = client.get("/admin/engage/phasesnapshot/")
    assert response.status_code == 302
    assert "/login" in response["Location"]
