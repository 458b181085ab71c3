"""The audit log as people read it: actions and fields in Chinese, times in Asia/Shanghai, values and objects by
name (任务 二.(一).1《…》, 报告 市医保局 2026年第四季度), for the auditor's page and its export alike.

The records keep their codes (`report_submit`, `{"1": "86"}`); only the display translates. Objects of other apps
are named through describers those apps register in their AppConfig.ready() (departments imports no app above
it): ``register_describer("task", fn)`` where ``fn(ids) -> {id: label}`` reads all ids of one page at once.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from django.utils import timezone

ACTION_LABELS = {
    "login": "登录",
    "logout": "退出登录",
    "login_failed": "登录失败",
    "login_locked": "账号锁定",
    "login_ip_locked": "来源地址锁定",
    "login_blocked": "锁定期间尝试登录",
    "session_idle": "空闲超时退出",
    "session_expired": "会话到期退出",
    "access_denied": "越权访问被拒绝",
    "password_change": "修改密码",
    "password_reset": "重置密码",
    "password_set_initial": "设置初始密码",
    "password_set_system": "系统设置密码",
    "account_disable": "停用账号",
    "token_revoke": "吊销 API 令牌",
    "user_create": "新建账号",
    "user_update": "修改账号",
    "user_delete": "删除账号",
    "unit_create": "新建单位",
    "unit_update": "修改单位",
    "unit_delete": "删除单位",
    "unit_restore": "恢复单位",
    "alias_add": "添加单位别名",
    "alias_delete": "删除单位别名",
    "unitalias_create": "添加单位别名",
    "unitalias_update": "修改单位别名",
    "document_create": "新建文件",
    "plan_import": "从文件导入任务",
    "ledger_import": "Excel 导入台账",
    "ledger_export": "导出台账",
    "task_create": "新建任务",
    "task_update": "修改任务",
    "task_delete": "删除任务",
    "task_restore": "恢复任务",
    "task_import": "Excel 导入任务",
    "period_create": "新建填报期",
    "period_open": "开启填报期",
    "period_close": "关闭填报期",
    "period_due_date": "修改报送截止日",
    "report_create": "开始填报",
    "report_save_draft": "保存草稿",
    "report_update": "修改报告",
    "report_submit": "提交报告",
    "report_return": "退回报告",
    "report_accept": "审核通过",
    "report_reopen": "重新打开报告",
    "attachment_add": "上传附件",
    "attachment_remove": "删除附件",
    "reminder_manual": "手动催报",
    "notice_issue": "下发督办单",
    "notice_sign": "签收督办单",
    "notice_reply": "回复督办单",
    "notice_close": "办结督办单",
    "notice_reopen": "重新打开督办单",
    "extension_request": "提交延期申请",
    "extension_approve": "批准延期申请",
    "extension_reject": "驳回延期申请",
    "bulletin_issue": "印发通报",
    "audit_export": "导出审计日志",
    "generate_scale_data": "生成测试数据",
}

OBJECT_TYPE_LABELS = {
    "task": "任务",
    "report": "报告",
    "period": "填报期",
    "unit": "单位",
    "unitalias": "单位别名",
    "user": "账号",
    "document": "文件",
    "reminder": "催报",
    "attachment": "附件",
    "target": "指标",
    "milestone": "时间节点",
    "notice": "督办单",
    "extensionrequest": "延期申请",
    "bulletin": "通报",
    "login": "账号",
    "auditentry": "审计日志",
    "token": "API 令牌",
}

FIELD_LABELS = {
    # reports
    "status": "状态",
    "progress": "进展",
    "percent": "完成百分比",
    "text": "进展情况",
    "problems": "存在问题",
    "next_steps": "下步打算",
    "target_values": "指标实际值",
    "submitted_at": "提交时间",
    "is_late": "逾期提交",
    "return_reason": "退回原因",
    "attachment": "附件",
    "is_open": "开放填报",
    "due_date": "报送截止日",
    # tasks
    "title": "任务名称",
    "note": "备注",
    "path": "编号",
    "lead_units": "牵头单位",
    "responsible_units": "责任单位",
    "counties": "县(市、区)",
    "milestones": "时间节点",
    "targets": "量化指标",
    "document": "文件",
    # units and accounts
    "name": "名称",
    "short_name": "简称",
    "kind": "类型",
    "alias": "别名",
    "aliases": "别名",
    "sort_order": "排序",
    "webhook_url": "机器人地址",
    "username": "用户名",
    "role": "角色",
    "unit": "单位",
    "email": "电子邮箱",
    "phone": "电话",
    "first_name": "姓名",
    "last_name": "姓",
    "is_active": "启用",
    "is_staff": "可进入系统管理",
    "is_superuser": "超级管理员",
    "password": "密码",
    "groups": "用户组",
    "filters": "筛选条件",
    "actor": "操作人",
    "action": "操作",
    "obj": "对象",
    "ip": "来源地址",
    "date_from": "起始日期",
    "date_to": "截止日期",
}

# Codes stored as values, shown by their Chinese names.
VALUE_LABELS: dict[str, dict[str, str]] = {
    "status": {
        "draft": "草稿", "submitted": "已提交", "returned": "已退回", "accepted": "已通过",
        "not_started": "未启动", "in_progress": "推进中", "completed": "已完成", "lagging": "滞后",
    },
    "progress": {"not_started": "未启动", "in_progress": "推进中", "completed": "已完成", "lagging": "滞后"},
    "role": {
        "secretariat": "医改办工作人员", "reporter": "填报员", "leader": "领导", "admin": "系统管理员",
        "auditor": "安全审计员",
    },
    "kind": {"department": "市直部门", "county": "县(市、区)政府", "secretariat": "医改办"},
}  # fmt: skip

ISO_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$")
EMPTY = "（空）"

Describer = Callable[[list[str]], dict[str, str]]
_describers: dict[str, Describer] = {}
_key_namers: dict[str, Callable[[list[str]], dict[str, str]]] = {}


def register_describer(object_type: str, fn: Describer) -> None:
    """An app names its objects: ``fn(ids) -> {id: "任务 二.(一).1《…》"}`` (ids are strings, as stored)."""
    _describers[object_type] = fn


def register_key_namer(field_name: str, fn: Callable[[list[str]], dict[str, str]]) -> None:
    """A dict-valued field keyed by ids (target_values: {target id: value}) shows the names of its keys."""
    _key_namers[field_name] = fn


def action_label(code: str) -> str:
    return ACTION_LABELS.get(code, code)


def field_label(name: str) -> str:
    return FIELD_LABELS.get(name, name)


def local_time(value: dt.datetime) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M:%S")


def _scalar(name: str, value, names: dict[str, str] | None = None) -> str:
    if value is None or value == "":
        return EMPTY
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, dt.datetime):
        return local_time(value)
    if isinstance(value, dict):
        names = names or {}
        parts = [f"{names.get(str(k), field_label(str(k)))} → {_scalar(str(k), v)}" for k, v in value.items()]
        return "；".join(parts) if parts else EMPTY
    if isinstance(value, list | tuple):
        return "、".join(_scalar(name, v) for v in value) if value else EMPTY
    text = str(value)
    if ISO_DATETIME.match(text):
        try:
            parsed = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            return text
        if timezone.is_naive(parsed):
            parsed = timezone.make_aware(parsed, dt.UTC)
        return local_time(parsed)
    return VALUE_LABELS.get(name, {}).get(text, text)


@dataclass
class Change:
    label: str
    old: str
    new: str


@dataclass
class AuditRow:
    """One audit record as shown and exported."""

    entry: object
    at: str
    actor: str
    ip: str
    action: str  # Chinese
    action_code: str
    object_type: str  # Chinese
    object_id: str
    object: str  # readable: 任务 二.(一).1《…》
    changes: list[Change] = field(default_factory=list)
    message: str = ""

    @property
    def changes_text(self) -> str:
        return "；".join(f"{c.label}：{c.old} → {c.new}" for c in self.changes)


def _denied_target(message: str) -> str:
    """access_denied keeps "GET /path → 403" as its message; the object is the page asked for."""
    parts = message.split(" ")
    return f"页面 {parts[1]}" if len(parts) >= 2 and parts[1].startswith("/") else "页面"


def audit_rows(entries: Iterable) -> list[AuditRow]:
    """Readable rows for a page (or a chunk of the export) of audit entries: one describer call per object type
    and one key-namer call per field, whatever the number of entries."""
    entries = list(entries)
    ids: dict[str, set[str]] = defaultdict(set)
    keys: dict[str, set[str]] = defaultdict(set)
    for e in entries:
        if e.object_id and e.object_type in _describers:
            ids[e.object_type].add(e.object_id)
        for name, pair in (e.changes or {}).items():
            if name in _key_namers and isinstance(pair, list | tuple):
                for side in pair:
                    if isinstance(side, dict):
                        keys[name].update(str(k) for k in side)
    described = {t: _describers[t](sorted(v)) for t, v in ids.items()}
    key_names = {f: _key_namers[f](sorted(v)) for f, v in keys.items()}
    rows = []
    for e in entries:
        type_label = OBJECT_TYPE_LABELS.get(e.object_type, "")
        if e.action == "access_denied":
            obj, type_label = _denied_target(e.message), "页面"
        else:
            obj = described.get(e.object_type, {}).get(e.object_id, "")
            if not obj:
                name = e.object_repr or e.object_id
                obj = f"{type_label} {name}".strip() if type_label else (name or e.object_type)
        changes = []
        for name, pair in (e.changes or {}).items():
            old, new = (
                (pair[0], pair[1]) if isinstance(pair, list | tuple) and len(pair) == 2 else (None, pair)
            )
            names = key_names.get(name)
            changes.append(Change(field_label(name), _scalar(name, old, names), _scalar(name, new, names)))
        rows.append(
            AuditRow(
                entry=e,
                at=local_time(e.at),
                actor=e.actor_name,
                ip=e.ip or "",
                action=action_label(e.action),
                action_code=e.action,
                object_type=type_label or e.object_type,
                object_id=e.object_id,
                object=obj,
                changes=changes,
                message=e.message,
            )
        )
    return rows
