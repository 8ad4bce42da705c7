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

RATE_LIMITED = "您发送得太快了，请稍等一分钟再发。刚才收到的内容已经保存。"
SPOOLED = "已收到，系统正忙，稍后会把处理结果发给您。"

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


# ---------------------------------------------------------------------------------------------------------------
# The closed loop: what the reporter hears at each step, and what inspectors see and type.
# ---------------------------------------------------------------------------------------------------------------

CANNOT_MOVE = "{reference} 当前为“{status}”，不能改为“{target}”。此时可以：{allowed}。"

# (from, to) -> what the reporter is told; ("*", to) matches any origin.
REPORTER_NOTICES: dict[tuple[str, str], str] = {
    ("*", "accepted"): "您举报的 {reference} 已受理，我们将尽快核查，有进展会告诉您。",
    ("*", "verifying"): "您举报的 {reference} 正在现场核查。",
    ("*", "rectifying"): "您举报的 {reference} 经核查属实，已责令企业限期整改（期限：{deadline}）。",
    ("closed", "rectifying"): "收到，{reference} 已重新交办整改，我们会再次核查。",
    ("*", "rectified"): "您举报的 {reference}：企业已整改，等待验收。整改情况：{note}",
    ("*", "closed"): (
        "您举报的 {reference} 已办结：{note}\n隐患真的消除了吗？如果没有，请回复“没有”（可以再拍照片发来）；"
        "已经消除请回复“已消除”。感谢您的吹哨！"
    ),
    ("*", "rejected"): (
        "您举报的 {reference} 经核实不予受理，理由：{note}\n如有异议，请在10日内回复“异议 {reference} 理由”。"
    ),
    ("rejected", "verifying"): "收到您的异议，{reference} 将重新核查，结果会告诉您。",
    ("*", "transferred"): "您举报的 {reference} 属于 {note} 的职责范围，已依法移交办理，后续进展由该部门负责。",
    ("*", "duplicate"): "您举报的 {reference} 与正在办理的同一隐患合并处理，结果同样会告诉您。",
}

EXTENDED = "您举报的 {reference} 核查需要更多时间，期限延长至 {due}。原因：{reason}"
QUESTION_TO_REPORTER = (
    "关于您举报的 {reference}，核查人员想了解：{question}\n请直接回复文字或照片（您的身份不会告诉任何人）。"
)
ANSWER_RELAYED = "已转告核查人员，谢谢！"
REWARD_ELIGIBLE = (
    "您举报的 {reference} 经确认属于重大事故隐患或违法行为，符合举报奖励条件。{claim}\n"
    "申领时请出示您的查询码（提交时发给您的8位代码）。"
)
CONFIRM_THANKS = "谢谢确认！{reference} 已闭环。"
REOPENED_NOTICE = "收到，{reference} 已重新交办，我们会再次核查。"
OBJECTION_USAGE = "请回复“异议 编号 理由”，例如：异议 {example} 整改后问题还在"
OBJECTION_LATE = "{reference} 的异议期（不予受理后{days}日内）已过，如有新情况请重新举报。"
OBJECTION_NOT_REJECTED = "{reference} 当前为“{status}”，不需要提出异议。"

# Inspectors ---------------------------------------------------------------------------------------------------

INSPECTOR_HELP = (
    "核查人员指令（编号如 AQ-20261130-0001）：\n"
    "待办 — 本股室未办结的案件\n查看 编号 — 案件详情\n受理 编号\n核查 编号\n"
    "问 编号 问题 — 向举报人提问（双方身份保密）\n期限 编号 2026-12-31 — 限期整改（也可写 15天）\n"
    "整改 编号 说明 — 记录整改情况，随后10分钟内发的照片作为整改照片\n办结 编号 说明\n"
    "不予受理 编号 理由\n重复 编号 原编号\n转派 编号 股室\n移交 编号 部门\n延期 编号 天数 理由\n"
    "确认重大 编号 / 排除重大 编号 理由\n统计 — 本股室的活动统计（局领导看全局）"
)
NOT_A_CASE = "没有找到案件 {reference}。"
NOT_YOUR_SECTION = "{reference} 属于{section}，不在您的股室。如需调整，请联系该股室或办公室转派。"
NEEDS_ARGUMENT = "请在编号后写上{what}，例如：{example}"
DONE = "已完成：{reference} {what}。"
LIST_EMPTY = "本股室目前没有未办结的案件。"
LIST_HEADER = "本股室未办结案件（{count}件，重大隐患在前）："
LIST_LINE = "{flag}{reference} {status} {categories}{due}"
UNKNOWN_SECTION = "没有这个股室：{name}。可选：{choices}"
EXTENSION_USED = "{reference} 已延期过一次，不能再延期。"
EXTENSION_TOO_LONG = "延期最多{days}天。"
BAD_DATE = "没看懂期限“{text}”。请写成 2026-12-31、12月31日 或 15天。"
DATE_IN_PAST = "期限 {date} 已经过去了，请重新设置。"
RECTIFY_PHOTO_SAVED = "已保存 {reference} 的整改照片（第{count}张）。"
BOUND = "绑定成功：您已是{section}的{role}。回复“帮助”查看指令。"
BIND_FAILED = "绑定码无效、已使用或已过期，请向管理员重新获取。"
ROLE_NAMES = {"inspector": "核查人员", "head": "负责人", "leader": "局领导"}

CASE_CARD = (
    "【{title}】{reference}\n{major}类别：{categories}\n企业：{enterprise}\n位置：{place}\n"
    "内容：{text}\n照片：{photos}张{transfers}\n{due}\n回复“受理 {reference}”受理，“查看 {reference}”看详情。"
)
CARD_TITLE_NEW = "新隐患"
CARD_TITLE_MAJOR = "可能重大隐患，请立即处理"
CARD_MAJOR = "可能重大事故隐患：{reasons}\n"
CARD_TRANSFERS = "\n建议移交/告知：{departments}"
REPORTER_ANSWER = "举报人就 {reference} 回复：{answer}"
REPORTER_PHOTO = "举报人就 {reference} 补充了照片，回复“查看 {reference}”查看。"
REPORTER_OBJECTED = "举报人对 {reference} 的不予受理提出异议：{reason}\n请在30日内重新核查。"
REPORTER_NOT_FIXED = "举报人反映 {reference} 的隐患仍未消除，案件已重新打开（整改中），请再次核查。{detail}"

REMINDER = "【提醒】{reference} 的{what}期限 {due} 即将到期（{status}）。"
OVERDUE_HEAD = "【逾期】{section}的 {reference} {what}已逾期（期限 {due}，{status}），请督办。"
OVERDUE_LEADER = "【逾期升级】{section}的 {reference} {what}逾期超过{hours}小时（期限 {due}，{status}）。"
DEADLINE_WHAT = {"accept": "受理", "verify": "核查", "rectify": "整改"}
DIGEST = (
    "早上好！{section}今日待办：{open}件未办结，其中可能重大隐患{major}件、已逾期{overdue}件、"
    "今明两天到期{soon}件。回复“待办”查看清单。"
)

STATS_HEADER = (
    "吹哨人活动统计：共收到举报{total}件，未办结{open}件（逾期{overdue}件，可能重大隐患{major}件）；"
    "确认重大事故隐患{confirmed}件，已办结{closed}件，闭环率{rate}，符合奖励条件{rewards}件。"
)
STATS_SECTION = "{section}：共{total}件，未办结{open}件，逾期{overdue}件"
STATS_CATEGORIES = "最常见的隐患：{categories}"
