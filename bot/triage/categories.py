"""The 24 hazard categories. Their ids are part of the project's interface (tests, routing rules, exports)."""

from __future__ import annotations

CATEGORY_NAMES: dict[str, str] = {
    "electrical": "电气安全",
    "fire_equipment": "消防设施器材",
    "egress": "安全出口/疏散通道",
    "hot_work": "动火作业",
    "storage": "仓储堆放/可燃物",
    "hazchem": "危险化学品",
    "dust": "粉尘涉爆",
    "ammonia": "涉氨制冷",
    "confined_space": "有限空间",
    "special_equipment": "特种设备",
    "machinery": "机械防护",
    "height": "高处作业/坠落",
    "ppe_behaviour": "劳动防护/违章行为",
    "gas": "燃气",
    "molten_metal": "高温熔融金属/炉窑",
    "toxic_gas": "有毒气体/煤气区域",
    "painting": "涂装喷漆",
    "contractor": "承包承租/外包",
    "certification": "特种作业持证",
    "management": "安全管理/培训/预案",
    "building": "厂房建筑/结构",
    "ebike_battery": "电动车/锂电池",
    "traffic": "场内交通/装卸",
    "occupational_health": "职业危害",
}

CATEGORY_IDS: tuple[str, ...] = tuple(CATEGORY_NAMES)
