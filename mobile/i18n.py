"""The phone's words, in Simplified Chinese (the default) and English.

Screens ask for a string by key with ``tr(key, lang, **values)``; kv rules
call ``app.t(key, app.lang)`` so that switching language redraws them.
Messages that come from the schemas or the server are already bilingual
("中文 / English"): ``pick`` keeps the half in the reader's language.
"""

from __future__ import annotations

import re
from typing import Any

# The slash between the halves; the server writes "…）/ …" as well as "… / …".
_HALVES = re.compile(r"\s*/\s+")

LANGUAGES = ("zh", "en")
NO_BREAK_SPACE = "\u00a0"

STRINGS: dict[str, tuple[str, str]] = {
    "app.title": ("民情记录本", "Minqing notebook"),
    "lang.switch": ("English", "中文"),
    "back": ("‹ 返回", "‹ Back"),
    "save": ("保存", "Save"),
    "cancel": ("取消", "Cancel"),
    "loading": ("正在打开…", "Opening…"),
    "date.today": ("今天", "Today"),
    "date.any": ("不限日期", "Any date"),
    # login
    "login.title": ("登录", "Log in"),
    "login.intro": (
        "第一次使用需要有信号：登录后会下载您挂钩的农户和走访记录，之后没有信号也能使用。",
        "The first time needs signal: after logging in, your households and their history"
        " are downloaded; from then on the app works without signal.",
    ),
    "login.server": ("服务器地址", "Server address"),
    "login.username": ("用户名（手机号）", "Username (phone number)"),
    "login.password": ("密码", "Password"),
    "login.device_name": ("这部手机的名称", "This phone's name"),
    "login.device_name_hint": (
        "如“红米 Note 12”；您有两部手机时用来区分",
        'e.g. "Redmi Note 12"; tells your phones apart if you have two',
    ),
    "login.button": ("登录并下载", "Log in and download"),
    "login.working": ("正在登录…", "Logging in…"),
    "login.downloading": ("正在下载：已收到 {received} 条", "Downloading: {received} received"),
    # a phone reported lost (mobile/app.py)
    "lost.wiped": (
        "这台手机已被挂失，手机上的农户数据已全部清除。如果手机已找回，请重新登录。",
        "This phone was reported lost: the households' data on it has been erased. If the"
        " phone has been found, log in again.",
    ),
    # the PIN lock (mobile/screens/pin.py)
    "pin.title": ("输入PIN码", "Enter your PIN"),
    "pin.title_set": ("设置PIN码", "Choose a PIN"),
    "pin.intro": (
        "农户的信息在手机上是加密保存的，输入PIN码才能打开。",
        "The households' information is stored encrypted on this phone: your PIN opens it.",
    ),
    "pin.intro_set": (
        "请设置4到8位数字的PIN码。打开应用、或应用在后台放置一段时间后，需要输入它。",
        "Choose a PIN of 4 to 8 digits. The app asks for it when it opens, and after it has"
        " been in the background for a while.",
    ),
    "pin.pin": ("PIN码", "PIN"),
    "pin.again": ("再输入一次", "Once more"),
    "pin.button": ("确定", "OK"),
    "pin.invalid": ("请输入{low}到{high}位数字", "Type {low} to {high} digits"),
    "pin.mismatch": ("两次输入的不一样，请再输入一次", "The two differ: type it again"),
    "pin.wrong": (
        "PIN码不对，还可以试{left}次",
        "Wrong PIN: {left} tries left",
    ),
    "pin.locked_out": (
        "PIN码错误次数太多，数据已锁住。请用账号密码重新登录（需要信号）；未同步的记录不会丢失，登录后会自动发送。",
        "Too many wrong PINs: the data is locked. Log in again with your password (needs"
        " signal); records not yet sent are kept and sent after the login.",
    ),
    "pin.login_again": (
        "请用账号密码登录并设置PIN码（需要信号）。未同步的记录不会丢失。",
        "Log in with your password and choose a PIN (needs signal). Records not yet sent are kept.",
    ),
    "pin.sealing": (
        "为了加密保存农户信息，请重新登录一次并设置PIN码。未同步的记录不会丢失。",
        "To store the households' information encrypted, log in once more and choose a PIN."
        " Records not yet sent are kept.",
    ),
    "login.no_server": (
        "连不上服务器——请检查地址，或到有信号的地方再试",
        "Cannot reach the server — check the address, or try again where there is signal",
    ),
    "login.revoked_note": (
        "本机的授权已被撤销，请重新登录。未发送的 {count} 条记录仍保存在手机上。",
        "This phone's access was revoked: log in again. Your {count} unsent records are"
        " kept on the phone.",
    ),
    # status bar
    "status.pending": ("待同步 {count} 条", "{count} waiting to sync"),
    "status.pending_photos": (
        "待同步 {count} 条、照片 {photos} 张",
        "{count} waiting to sync, {photos} photo(s)",
    ),
    "status.never_synced": ("尚未同步", "never synced"),
    "status.last_sync": ("上次同步 {when}", "last sync {when}"),
    "status.syncing": ("同步中…", "syncing…"),
    # households
    "households.title": ("我的农户", "My households"),
    "households.search": ("搜索户主、村或网格", "Search name, village or grid"),
    "households.count": ("共 {count} 户", "{count} household{s}"),
    "households.empty": (
        "手机上还没有农户。有信号时请同步。",
        "No households on this phone yet. Sync when there is signal.",
    ),
    "households.none_match": ("没有符合的农户", "No household matches"),
    "households.never": ("从未走访", "never visited"),
    "households.days": ("{days} 天前走访", "visited {days} days ago"),
    "households.today": ("今天走访", "visited today"),
    "households.issues": ("{count} 个问题未解决", "{count} open problem{s}"),
    "households.no_issues": ("无未解决问题", "no open problems"),
    "households.inspector_title": ("督查农户", "Households to check"),
    "households.inspector_note": (
        "县、镇抽样分派给您的农户；督查记录同步后，该户即从名单移除。",
        "Households the county or town office assigned to you;"
        " a household leaves the list once its spot check has synced.",
    ),
    "households.none_assigned": (
        "还没有分派给您的督查农户。请县、镇抽样分派后，有信号时同步。",
        "No households assigned to you yet. Once the county or town office has assigned"
        " a sample, sync when there is signal.",
    ),
    "nav.notebook": ("记录本", "Notebook"),
    "nav.sync": ("同步", "Sync"),
    # household
    "household.title": ("农户", "Household"),
    "household.facts": ("基本情况", "Facts"),
    "household.code": ("户号", "Code"),
    "household.place": ("村 / 网格", "Village / grid"),
    "household.head_name": ("户主", "Head of household"),
    "household.phones": ("电话", "Phones"),
    "household.phones_hint": ("每行一个号码", "One number per line"),
    "household.members": ("家庭人口", "Members"),
    "household.address": ("住址", "Address"),
    "household.tags": ("标签", "Tags"),
    "household.notes": ("备注", "Notes"),
    "household.edit": ("修改基本情况", "Edit facts"),
    "household.saved": ("已保存，待同步", "Saved; waiting to sync"),
    "household.unchanged": ("没有修改", "Nothing changed"),
    "household.card": ("联系服务卡", "Contact card"),
    "household.card_cadre": ("挂户干部", "Your cadre"),
    "household.card_services": ("便民服务电话", "Public-service numbers"),
    "household.history": ("走访记录", "Visits"),
    "household.no_visits": ("还没有走访记录", "No visits yet"),
    "household.all_visits": ("在记录本中查看全部 {count} 次", "See all {count} in the notebook"),
    "household.issues": ("群众反映的问题", "Problems raised"),
    "household.no_issues": ("没有问题", "No problems"),
    "household.new_visit": ("＋ 新增走访", "+ New visit"),
    "household.inspect": ("督查抽查", "Spot check"),
    "none": ("—", "—"),
    # visit
    "visit.title": ("新增走访：{name}", "New visit: {name}"),
    "visit.when": ("走访时间", "When"),
    "visit.kind": ("方式", "Kind"),
    "visit.roles": ("做了什么", "Roles performed"),
    "visit.topics": ("走访主题", "Topics"),
    "visit.topics_hint": ("多个主题用逗号分开", "Separate topics with commas"),
    "visit.notes": ("走访情况", "Notes"),
    "visit.issues": ("反映的问题", "Problems raised"),
    "visit.add_issue": ("＋ 添加问题", "+ Add a problem"),
    "visit.location": ("位置：{where}", "Location: {where}"),
    "visit.no_location": ("未获取（保存不受影响）", "none (saving is not affected)"),
    "visit.saved": ("走访已保存，待同步", "Visit saved; waiting to sync"),
    "visit.fix_errors": (
        "请先改正标红的内容，未保存",
        "Fix the fields marked in red: nothing saved",
    ),
    "visit.future": (
        "走访时间不能晚于现在",
        "The visit cannot be in the future",
    ),
    "visit.bad_time": ("时间请写成 08:30 这样", "Write the time like 08:30"),
    "issue.category": ("类别", "Category"),
    "issue.choose_category": ("请选择类别", "Choose a category"),
    "issue.description": ("问题描述", "Description"),
    "issue.outcome": ("处理", "Outcome"),
    "issue.open": ("待处理", "To follow up"),
    "issue.solved_on_spot": ("当场解决", "Solved on the spot"),
    "issue.passed": ("转交部门", "Pass to a department"),
    "issue.department": ("转交部门名称", "Department"),
    "issue.remove": ("删除此问题", "Remove this problem"),
    "issue.number": ("问题 {number}", "Problem {number}"),
    # follow-up
    "followup.title": ("问题跟进", "Problem follow-up"),
    "followup.status": ("当前状态：{status}", "Status: {status}"),
    "followup.department": ("转交：{department}", "Passed to: {department}"),
    "followup.raised": ("{when} 提出", "raised {when}"),
    "followup.history": ("跟进记录", "Follow-up history"),
    "followup.no_history": ("还没有跟进记录", "No follow-up yet"),
    "followup.note": ("跟进情况", "Follow-up note"),
    "followup.new_status": ("改变状态（可不选）", "Change the status (optional)"),
    "followup.informed": ("已把结果告知群众", "The household was told the outcome"),
    "followup.need_something": (
        "请写下跟进情况或选择新状态",
        "Write a note or choose a new status",
    ),
    "followup.saved": ("已记录，待同步", "Recorded; waiting to sync"),
    # notebook
    "notebook.title": ("民情记录本", "Notebook"),
    "notebook.household": ("农户", "Household"),
    "notebook.all": ("全部农户", "All households"),
    "notebook.from": ("从（日期）", "From (date)"),
    "notebook.to": ("到（日期）", "To (date)"),
    "notebook.apply": ("筛选", "Filter"),
    "notebook.count": ("{count} 次走访，最新的在前", "{count} visit{s}, newest first"),
    "notebook.issues": ("{count} 个问题", "{count} problem{s}"),
    "notebook.photos": ("{count} 张照片", "{count} photo{s}"),
    # sync
    "sync.title": ("同步", "Sync"),
    "sync.now": ("立即同步", "Sync now"),
    "sync.server": ("服务器：{url}", "Server: {url}"),
    "sync.account": ("账号：{name}", "Account: {name}"),
    "sync.auto": (
        "有信号时会自动同步，也可以随时按上面的按钮。",
        "The phone syncs by itself whenever the server can be reached; you can also press"
        " the button above.",
    ),
    "sync.pushing": ("正在发送：{done} / {total}", "Sending: {done} of {total}"),
    "sync.pulling": ("正在接收：已收到 {received} 条", "Receiving: {received} received"),
    "sync.rejected_title": ("服务器未接受的记录", "Records the server refused"),
    "sync.log_in_again": ("重新登录", "Log in again"),
    "sync.sending_photos": ("正在发送照片：{done} / {total}", "Sending photos: {done} of {total}"),
    "sync.photos_to_send": (
        "还有 {count} 张照片待发送（{kb} KB）",
        "{count} photo{s} ({kb} KB) still to send",
    ),
    "sync.photos_rejected_title": ("服务器未接受的照片", "Photos the server refused"),
    "sync.photo_rejected": (
        "{message}——这张照片不会再发送；如仍需要，请重新拍一张，在新的走访或跟进中添加",
        "{message} — this photo will not be sent again; if it is still needed, take it"
        " again and add it to a new visit or follow-up",
    ),
    # photos (mobile/photos.py)
    "photo.add": ("＋ 添加照片", "+ Add photo"),
    "photo.full": ("已有 {count} 张照片（最多）", "{count} photos: the most a record takes"),
    "photo.preparing": ("正在处理 {count} 张照片…", "Preparing {count} photo{s}…"),
    "photo.unreadable": ("这张图片不能用：{message}", "This image cannot be used: {message}"),
    "photo.wait": (
        "照片还在处理，请稍等一下再保存",
        "A photo is still being prepared: save again in a moment",
    ),
    "photo.choose": ("选择照片", "Choose a photo"),
    "photo.use": ("使用这张", "Use this one"),
    "photo.not_downloaded": ("照片未下载", "not downloaded"),
    "photo.opening": ("正在打开…", "Opening…"),
    "photo.downloading": ("正在下载原图…", "Downloading full size…"),
    "photo.offline": (
        "手机上只有缩略图：联网后点击下载",
        "Only the thumbnail is on the phone: connect and tap to download",
    ),
    "photo.refused": (
        "服务器暂时给不了这张照片（{message}），请稍后再试",
        "The server cannot give this photo now ({message}); try again later",
    ),
    "photo.download": ("下载原图", "Download"),
    "photo.close": ("关闭", "Close"),
    # sync outcomes
    "outcome.nothing": ("已同步，没有新内容", "Synced: nothing new"),
    "outcome.sent": ("已发送 {what}", "{what} sent"),
    "outcome.received": (
        "已从服务器收到 {count} 条新记录",
        "{count} new record{s} received from the server",
    ),
    "outcome.resent": (
        "服务器已从备份恢复，本机重新发送了 {count} 条记录",
        "The server was restored from a backup: this phone sent its {count} record{s} again",
    ),
    "outcome.evicted": (
        "{count} 户已转给其他干部，已从手机移除",
        "{count} household{s} moved to another cadre removed from this phone",
    ),
    "outcome.evicted_checked": (
        "{count} 户已督查完毕或被撤回，已从手机移除",
        "{count} household{s} checked or withdrawn removed from this phone",
    ),
    "outcome.conflict_lost": (
        "您对{name}的{field}的修改被{by}更新的修改取代",
        "your change to {name}'s {field} was replaced by a newer one from {by}",
    ),
    "outcome.conflict_won": (
        "您对{name}的{field}的修改取代了{by}同时做的修改",
        "your change to {name}'s {field} replaced one made at the same time by {by}",
    ),
    "outcome.rejected": (
        "{count} 条记录未被服务器接受，原因见同步页",
        "{count} record{s} refused by the server: see the reasons on the Sync page",
    ),
    "outcome.no_signal": (
        "没有信号，连不上服务器——稍后会自动重试；{count} 条记录保存在手机上",
        "No signal, the server cannot be reached — will retry by itself; {count} records"
        " are kept on the phone",
    ),
    "outcome.revoked": (
        "本机授权已被撤销——请重新登录；您未发送的 {count} 条记录已保留",
        "Device access revoked — log in again; your {count} unsent records are kept",
    ),
    "outcome.unreachable": (
        "有网络，但服务器暂时连不上——稍后会自动重试，一直如此请告诉县里管理员；{count} 条记录保存在手机上",
        "There is a network, but the server cannot be reached just now — will retry by itself;"
        " if it goes on, tell the county office; {count} records are kept on the phone",
    ),
    "outcome.server_error": (
        "服务器出错（{message}）——稍后会自动重试，一直如此请告诉县里管理员；{count} 条记录保存在手机上",
        "The server had an error ({message}) — will retry by itself; if it goes on, tell the"
        " county office; {count} records are kept on the phone",
    ),
    "outcome.refused": (
        "服务器拒绝了同步：{message}——请告诉县里管理员；{count} 条记录保存在手机上",
        "The server refused the sync: {message} — tell the county office; {count} records"
        " are kept on the phone",
    ),
    "outcome.photos_sent": ("已发送 {count} 张照片", "{count} photo{s} sent"),
    "outcome.photos_rejected": (
        "{count} 张照片未被服务器接受，原因见同步页",
        "{count} photo{s} refused by the server: see the reasons on the Sync page",
    ),
    "outcome.joiner": ("；", "; "),
    "kind.visit": ("{count} 次走访", "{count} visit{s}"),
    "kind.issue": ("{count} 个问题", "{count} problem{s}"),
    "kind.issue_event": ("{count} 条跟进", "{count} follow-up{s}"),
    "kind.household": ("{count} 处农户信息修改", "{count} household edit{s}"),
    "kind.inspection": ("{count} 份督查记录", "{count} inspection{s}"),
    "list.and": ("、", ", "),
    "record.visit": ("走访", "Visit"),
    "record.issue": ("问题", "Problem"),
    "record.issue_event": ("跟进", "Follow-up"),
    "record.household": ("农户信息修改", "Household edit"),
    "record.inspection": ("督查记录", "Spot check"),
    "field.head_name": ("户主姓名", "name"),
    "field.members": ("家庭人口", "number of members"),
    "field.address": ("住址", "address"),
    "field.phones": ("电话号码", "phone number"),
    "field.tags": ("标签", "tags"),
    "field.notes": ("备注", "notes"),
    # inspection
    "inspection.title": ("督查抽查：{name}", "Spot check: {name}"),
    "inspection.knows_cadre": ("群众是否认识挂户干部", "Does the household know its cadre?"),
    "inspection.yes": ("认识", "Yes"),
    "inspection.no": ("不认识", "No"),
    "inspection.last_visit": ("群众说的最近一次走访日期", "Last visit, as the household says"),
    "inspection.not_said": ("没有说", "Not said"),
    "inspection.problem_solved": ("反映的问题是否解决", "Were the problems solved?"),
    "inspection.satisfaction": ("群众满意度", "Satisfaction"),
    "inspection.notes": ("督查意见", "Findings"),
    "inspection.choose": ("请选择一项", "Choose one"),
    "inspection.saved": ("督查记录已保存，待同步", "Spot check saved; waiting to sync"),
    # errors
    "error.unexpected": (
        "出错了：{message}。已保存的记录不受影响。",
        "Something went wrong: {message}. Saved records are not affected.",
    ),
    "error.household_gone": (
        "该户已不在本机（可能已转给其他干部）",
        "This household is no longer on this phone (it may have moved to another cadre)",
    ),
}


def tr(key: str, lang: str = "zh", **values: Any) -> str:
    """The string ``key`` in ``lang``, with ``values`` filled in.

    English strings write a plural as "visit{s}"; ``count`` decides it.
    """
    zh, en = STRINGS[key]
    # Kivy breaks lines only at spaces: in Chinese, the spaces around numbers
    # must not strand "1" at a line's end, so they do not break.
    text = zh.replace(" ", NO_BREAK_SPACE) if lang == "zh" else en
    if "count" in values:
        values.setdefault("s", "" if values["count"] == 1 else "s")
    return text.format(**values) if values else text


def pick(message: str, lang: str) -> str:
    """One language's half of a bilingual "中文 / English" message."""
    halves = _HALVES.split(message, maxsplit=1)
    if len(halves) == 1:
        return message
    return halves[0].strip() if lang == "zh" else halves[1].strip()


def join(items: list[str], lang: str) -> str:
    """A list in running text: 甲、乙 / a, b."""
    return tr("list.and", lang).join(items)
