"""Every sentence the account says to a user, in one place (so the bureau can review and change the wording)."""

from __future__ import annotations

WELCOME = (
    "您好，欢迎关注“安全吹哨人”！发现身边的安全隐患，请直接发给我们：\n"
    "1. 拍照片、发文字、发语音，或发送位置，说明哪家企业、什么地方、什么隐患；\n"
    "2. 发完后回复“提交”，{minutes}分钟内不再发送也会自动提交；\n"
    "3. 您会立即收到案件编号和查询码，处理进展会推送给您，回复“查询 编号”随时查看。\n"
    "【保密承诺】您的身份只用于向您反馈结果，处理人员看不到您是谁，任何单位和个人不得打击报复举报人。"
)

HELP = (
    "怎样举报隐患：\n"
    "• 直接发送照片、文字、语音或位置，可以连续发多条；\n"
    "• 回复“提交”立即提交，回复“取消”放弃本次举报；\n"
    "• 回复“我的举报”查看您举报过的案件；\n"
    "• 回复“查询 编号”查看某个案件的进展。\n"
    "您的身份严格保密。"
)

REPORT_HOWTO = (
    "请直接发送隐患照片、文字说明、语音或位置（可以连续发送多条），说明哪家企业、什么位置、什么隐患。发完后回复“提交”。"
)

DRAFT_STARTED = (
    "已收到{item}。可以继续补充照片、文字、语音或位置；说完了请回复“提交”，{minutes}分钟内不再发送将自动提交。"
)
DRAFT_ADDED = "已收到{item}（本次已有{count}条）。说完了请回复“提交”，回复“取消”放弃。"
DRAFT_LOCATION = "已记下位置：{place}。请再发照片或文字说明隐患情况，然后回复“提交”。"
DRAFT_PENDING = "您有一条正在填写的举报（已有{count}条内容），回复“提交”即可提交，回复“取消”放弃。"

ITEM_NAMES = {
    "text": "文字说明",
    "image": "照片",
    "voice": "语音",
    "video": "视频",
    "shortvideo": "小视频",
    "location": "位置",
    "link": "链接",
    "file": "文件",
}

SUBMITTED = (
    "举报已提交，感谢您的吹哨！\n"
    "案件编号：{reference}\n"
    "查询码：{code}（请截图保存，仅您本人可见，凭此码查询进展、申领奖励）\n"
    "我们会尽快核实处理，结果将推送给您。回复“查询 {reference}”可随时查看进展。"
)
AUTO_SUBMITTED_PREFIX = "您刚才发送的隐患信息已自动提交。\n"
NOTHING_TO_SUBMIT = "目前没有待提交的内容。请先发送隐患照片、文字、语音或位置，再回复“提交”。"
NEEDS_CONTENT = "只有位置还不能形成举报，请补充照片或文字说明隐患情况，再回复“提交”。"
LOCATION_ONLY_DROPPED = "您发送的位置没有附带隐患说明，未形成举报。如需举报，请发送照片或文字后回复“提交”。"
CANCELLED = "已取消本次举报，已发送的内容不会提交。"
NOTHING_TO_CANCEL = "目前没有正在填写的举报。"

QUERY_USAGE = "请回复“查询 案件编号”，例如：查询 {example}"
QUERY_NOT_FOUND = "没有找到案件 {reference}，请核对编号。如在其他微信号上举报，请回复“查询 编号 查询码”。"
QUERY_RESULT = "案件 {reference}\n提交时间：{submitted}\n当前状态：{status}\n{detail}"
MY_CASES_EMPTY = "您还没有提交过举报。发现隐患，直接发照片或文字给我们即可。"
MY_CASES_HEADER = "您最近的举报："
MY_CASES_LINE = "{reference}  {status}  （{submitted}）"
MY_CASES_FOOTER = "回复“查询 编号”查看详情。"

ASK_ENTERPRISE = (
    "关于您举报的 {reference}：请问隐患在哪家企业（单位）？直接回复企业名称即可，简称也可以；不清楚可回复“不知道”。"
)
ENTERPRISE_NOTED = "谢谢！已记录：{reference} 涉及的企业是“{answer}”。"
ENTERPRISE_UNKNOWN_NOTED = "好的，{reference} 将按隐患类别分派处理。"
LINKED_DUPLICATE = "您举报的 {reference} 与已在处理的案件 {original} 是同一隐患，已合并办理，处理结果同样会告诉您。"

UNSUPPORTED = "暂时不支持这种消息。请发送照片、文字、语音、视频或位置来举报隐患，回复“帮助”查看说明。"
SCAN_HELLO = "欢迎回来！" + REPORT_HOWTO

STATUS_NAMES = {
    "submitted": "已提交，等待受理",
    "accepted": "已受理",
    "verifying": "核查中",
    "rectifying": "整改中",
    "rectified": "已整改，待验收",
    "closed": "已办结",
    "rejected": "不予受理",
    "duplicate": "已合并到相同隐患的案件",
    "transferred": "已移交主管部门",
}

STATUS_DETAIL = {
    "submitted": "我们会尽快核实，受理后会通知您。",
}


def status_name(status: str) -> str:
    return STATUS_NAMES.get(status, status)
