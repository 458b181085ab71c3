"""Former names of bodies reorganised in 2018 (党和国家机构改革, carried down to cities and counties in 2018-2019).

Offices keep old 分工表 for years, so a ledger still says 市卫生计生委 for what is now 市卫生健康委. Each entry is a
piece of a name as it was written before the reform and the pieces that replaced it, most usual first (cities
named the merged bureaus slightly differently: 自然资源和规划局 / 自然资源局). ``certain`` is False where the old
duties were split between several new bodies: then the new names are only suggested, never chosen.

Sources: 国务院机构改革方案 (2018年3月第十三届全国人大第一次会议), the provincial and city 机构改革方案 of 2018-2019
(e.g. 组建卫生健康委员会, 不再保留卫生和计划生育委员会; 组建市场监督管理局, 不再保留工商、质监、食品药品监管局;
组建应急管理局, 不再保留安全生产监督管理局; 组建自然资源局, 不再保留国土资源局; 组建医疗保障局, 将人社部门的
城镇医保、新农合, 发改部门的药品和医疗服务价格管理, 民政部门的医疗救助职责整合; 老龄工作由民政转至卫生健康委).
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class FormerName:
    old: str  # a piece of the old name, as written
    new: tuple[str, ...]
    certain: bool = True


FORMER_NAMES: tuple[FormerName, ...] = (
    FormerName("卫生和计划生育委员会", ("卫生健康委员会", "卫生健康委")),
    FormerName("卫生和计划生育局", ("卫生健康局", "卫生健康委")),
    FormerName("卫生计生委", ("卫生健康委",)),
    FormerName("卫生计生局", ("卫生健康局", "卫生健康委")),
    FormerName("卫计委", ("卫生健康委", "卫健委")),
    FormerName("卫计局", ("卫生健康局", "卫健局", "卫生健康委")),
    FormerName("人口计生委", ("卫生健康委",)),
    FormerName("人口和计划生育委员会", ("卫生健康委",)),
    FormerName("卫生局", ("卫生健康委", "卫生健康局")),
    FormerName("老龄办", ("卫生健康委",)),
    FormerName("老龄工作委员会办公室", ("卫生健康委",)),
    FormerName("人力资源社会保障局", ("人力资源和社会保障局",)),
    FormerName("人力社保局", ("人力资源和社会保障局",)),
    FormerName("人社局", ("人力资源和社会保障局",)),
    FormerName("发展和改革委员会", ("发展改革委", "发展和改革委员会")),
    FormerName("发展和改革局", ("发展改革局", "发展改革委")),
    FormerName("发改委", ("发展改革委",)),
    FormerName("发改局", ("发展改革局", "发展改革委")),
    FormerName("食品药品监督管理局", ("市场监督管理局", "市场监管局")),
    FormerName("食品药品监管局", ("市场监督管理局", "市场监管局")),
    FormerName("食药监局", ("市场监督管理局", "市场监管局")),
    FormerName("工商行政管理局", ("市场监督管理局", "市场监管局")),
    FormerName("工商局", ("市场监督管理局", "市场监管局")),
    FormerName("质量技术监督局", ("市场监督管理局", "市场监管局")),
    FormerName("质监局", ("市场监督管理局", "市场监管局")),
    FormerName("食安办", ("市场监督管理局", "市场监管局")),
    FormerName("安全生产监督管理局", ("应急管理局",)),
    FormerName("安监局", ("应急管理局",)),
    FormerName("国土资源局", ("自然资源和规划局", "自然资源局")),
    FormerName("国土局", ("自然资源和规划局", "自然资源局")),
    FormerName("规划局", ("自然资源和规划局", "自然资源局"), certain=False),
    FormerName("环境保护局", ("生态环境局",)),
    FormerName("环保局", ("生态环境局",)),
    FormerName("农业委员会", ("农业农村局",)),
    FormerName("农委", ("农业农村局",)),
    FormerName("农业局", ("农业农村局",)),
    FormerName("文化广电新闻出版局", ("文化广电和旅游局", "文化和旅游局", "文化广电旅游局")),
    FormerName("文广新局", ("文化广电和旅游局", "文化和旅游局", "文化广电旅游局")),
    FormerName("文化局", ("文化广电和旅游局", "文化和旅游局", "文化广电旅游局")),
    FormerName("旅游局", ("文化广电和旅游局", "文化和旅游局", "文化广电旅游局")),
    FormerName("法制办", ("司法局",)),
    FormerName("经济和信息化委员会", ("工业和信息化局",)),
    FormerName("经信委", ("工业和信息化局", "工信局")),
    FormerName("经济和信息化局", ("工业和信息化局",)),
    FormerName("经信局", ("工业和信息化局", "工信局")),
    FormerName("住房城乡建设委", ("住房和城乡建设局",)),
    FormerName("住建委", ("住房和城乡建设局",)),
    FormerName("住建局", ("住房和城乡建设局",)),
    FormerName("建委", ("住房和城乡建设局",)),
    FormerName("扶贫办", ("乡村振兴局",)),
    FormerName("国税局", ("税务局",)),
    FormerName("地税局", ("税务局",)),
    FormerName("编办", ("委编办",)),
    FormerName("物价局", ("医疗保障局", "发展改革委"), certain=False),
    FormerName("新农合管理中心", ("医疗保障局",), certain=False),
    FormerName("社保局", ("人力资源和社会保障局", "医疗保障局"), certain=False),
)


def current_names(name: str) -> tuple[list[str], bool]:
    """Names the body called ``name`` has now, most likely first, and whether the replacement is certain."""
    for entry in FORMER_NAMES:
        if entry.old in name:
            # 市人社局 -> 市人力资源和社会保障局; keep what stands around the old piece (the 市 or county prefix).
            head, _, tail = name.partition(entry.old)
            if entry.old == "编办" and head.endswith("委"):
                continue  # 市委编办 is the current name
            return [head + new + tail for new in entry.new], entry.certain
    return [], True


_TRAILING_ETC = re.compile(r"(?:等有关部门|等相关部门|等有关单位|等相关单位|等部门|等单位|等)$")


def strip_etc(name: str) -> str:
    """市卫生健康委等 -> 市卫生健康委: the 等 closes a list, it is not part of the name."""
    return _TRAILING_ETC.sub("", name)
