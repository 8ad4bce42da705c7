"""A bureau with people in it, for tests of the closed loop: one inspector and a head in 工业股, one inspector in
商务股, and a bureau leader."""

from __future__ import annotations

from typing import Any


def staffed_sections(*, wang: str, li: str, zhou: str) -> list[dict[str, Any]]:
    return [
        {"id": "office", "name": "办公室", "inspectors": [], "industries": [], "categories": ["management"]},
        {
            "id": "industry",
            "name": "工业股",
            "inspectors": [wang],
            "heads": [li],
            "industries": ["机械", "冶金", "有色"],
            "categories": ["dust", "molten_metal", "machinery"],
        },
        {
            "id": "commerce",
            "name": "商务股",
            "inspectors": [zhou],
            "industries": ["商场超市", "仓储物流", "冷库冷链"],
            "categories": ["ammonia", "storage"],
        },
        {"id": "tech", "name": "科技股", "inspectors": [], "industries": ["科技型企业"], "categories": []},
    ]
