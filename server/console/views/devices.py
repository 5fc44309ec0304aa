"""A cadre's phones: one reported lost erases its data at its next contact.

Beside revoking (``minqing accounts revoke-device``), which stops a phone's
sync but keeps its unsent records for the cadre's next login, marking a
phone lost has it send what it can, erase its store and confirm the wipe;
the cadre's page shows when it did.
"""

from __future__ import annotations

import uuid

from flask import flash, redirect, url_for
from flask.typing import ResponseReturnValue

from server.accounts import services
from server.accounts.scope import Capability
from server.audit.services import Actor
from server.console.access import cadre_or_404, current_account, requires
from server.console.blueprint import bp, localized
from server.console.forms import CHOOSE, LostDeviceForm
from server.console.views.ledger import cadre_page
from server.db import db


@bp.post("/ledger/cadres/<uuid:cadre_id>/lost")
@requires(Capability.MANAGE)
def mark_device_lost(cadre_id: uuid.UUID) -> ResponseReturnValue:
    cadre = cadre_or_404(cadre_id)
    form = LostDeviceForm()
    devices = {str(device.id): device for device in services.devices_of_cadre(db.session, cadre.id)}
    if not form.validate_on_submit() or form.device.data not in devices:
        return cadre_page(cadre, localized(CHOOSE), 400)
    device = devices[form.device.data]
    services.mark_lost(db.session, Actor(account_id=current_account().id), device)
    flash(
        "已挂失：这台手机下次联网时会先发送未同步的记录，然后清除本机数据"
        " / reported lost: at its next contact the phone sends what it holds, then erases its data"
    )
    return redirect(url_for("console.cadre", cadre_id=cadre.id))
