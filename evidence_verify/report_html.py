"""The human-readable ``report.html`` of a case package, in Chinese.

One self-contained page (inline CSS, no scripts, no external assets): the case facts, a table
of the items with their digests and anchors, the custody timeline and how to verify the
package independently. Every value is escaped with :func:`html.escape`. The page states what
the exporter claims; the verifier's own checks are what prove it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape
from typing import Any

__all__ = ["render_package_html"]

_CSS = """body{font-family:"Noto Sans CJK SC","Microsoft YaHei",sans-serif;margin:2em;color:#222}
table{border-collapse:collapse;margin:1em 0;font-size:.9em}
th,td{border:1px solid #999;padding:.3em .5em;text-align:left;vertical-align:top}
th{background:#eee}code,.hash{font-family:monospace;word-break:break-all}
.pending{color:#a60}"""


def render_package_html(
    manifest: Mapping[str, Any],
    proofs: Mapping[str, Mapping[str, Any]],
    events: Sequence[Mapping[str, Any]],
) -> str:
    """Render the report from the manifest object (``files`` may be absent), the proof
    bundles by item or artefact id, and the custody events (custody.json ``events``).

    Raises KeyError or TypeError when ``manifest`` or an event lacks a version-1 field.
    """
    case = manifest["case"]
    parts = [
        "<!DOCTYPE html>",
        '<html lang="zh-CN"><head><meta charset="utf-8">',
        f"<title>案件证据包核验报告 {_e(case['case_number'])}</title>",
        f"<style>{_CSS}</style></head><body>",
        "<h1>案件证据包核验报告</h1>",
        "<p>本报告由导出系统生成,列明导出方声明的内容;"
        "证明效力以独立核验结果为准(见“独立核验方法”)。</p>",
        _case_section(manifest),
        _items_section(manifest, proofs),
        _custody_section(events),
        _instructions(manifest),
        "</body></html>",
    ]
    return "\n".join(parts) + "\n"


def _e(value: object) -> str:
    return escape("" if value is None else str(value), quote=True)


def _case_section(manifest: Mapping[str, Any]) -> str:
    case = manifest["case"]
    chain = manifest.get("chain")
    rows = [
        ("案件编号", case["case_number"]), ("案件名称", case["title"]),
        ("案由", case["cause_of_action"] or "—"), ("当事人", case["party"] or "—"),
        ("办案部门", f"{case['department']['name']}({case['department']['code']})"),
        ("案件 ID", case["id"]),
        ("导出时间(UTC)", manifest["exported_at"]),
        ("导出人", f"部门 {manifest['exported_by']['department_id']} / "
                  f"用户 {manifest['exported_by']['user_id']}"),
        ("区块链", f"链 ID {chain['chain_id']},合约 {chain['contract']}" if chain else "未锚定"),
    ]
    body = "".join(f"<tr><th>{_e(k)}</th><td>{_e(v)}</td></tr>" for k, v in rows)
    return f"<h2>案件信息</h2><table>{body}</table>"


def _items_section(manifest: Mapping[str, Any], proofs: Mapping[str, Mapping[str, Any]]) -> str:
    head = ("<tr><th>文件名</th><th>类型</th><th>大小(字节)</th><th>SHA-256</th><th>SM3</th>"
            "<th>锚定树大小</th><th>区块</th><th>交易</th></tr>")
    rows = []
    for item in manifest["items"]:
        rows.append(_item_row(item["original_filename"], item["kind"], item,
                              proofs.get(item["item_id"])))
        for art in item["derived"]:
            rows.append(_item_row(f"└ {art['name']}", "衍生文件", art,
                                  proofs.get(art["artefact_id"])))
    return (f"<h2>证物清单</h2><p>共 {len(manifest['items'])} 件证物。</p>"
            f"<table>{head}{''.join(rows)}</table>")


def _item_row(name: str, kind: str, record: Mapping[str, Any],
              proof: Mapping[str, Any] | None) -> str:
    cells = [_e(name), _e(kind), _e(record["size"]),
             f'<span class="hash">{_e(record["sha256"])}</span>',
             f'<span class="hash">{_e(record["sm3"])}</span>']
    cells += _anchor_cells(proof)
    return "<tr>" + "".join(f"<td>{cell}</td>" for cell in cells) + "</tr>"


def _anchor_cells(proof: Mapping[str, Any] | None) -> list[str]:
    anchor = proof.get("anchor") if proof else None
    if not isinstance(anchor, Mapping) or proof is None:
        return ['<span class="pending">待锚定</span>', "—", "—"]
    return [_e(proof.get("tree_size")), _e(anchor.get("block_number")),
            f'<span class="hash">{_e(anchor.get("tx_hash"))}</span>']


def _custody_section(events: Sequence[Mapping[str, Any]]) -> str:
    if not events:
        return "<h2>保管记录</h2><p>无保管事件。</p>"
    head = ("<tr><th>时间(UTC)</th><th>事件</th><th>证物</th><th>部门</th><th>操作人</th>"
            "<th>说明</th><th>锚定</th></tr>")
    rows = []
    for event in sorted(events, key=lambda ev: str(ev["time"])):
        proof = event.get("proof")
        anchor = proof.get("anchor") if isinstance(proof, Mapping) else None
        anchored = (f"区块 {_e(anchor.get('block_number'))}" if isinstance(anchor, Mapping)
                    else '<span class="pending">待锚定</span>')
        cells = [_e(event["time"]), _e(event["kind"]), _e(event["item_id"] or "—"),
                 _e(event["department_id"]), _e(event["actor_id"]), _e(event["summary"]),
                 anchored]
        rows.append("<tr>" + "".join(f"<td>{cell}</td>" for cell in cells) + "</tr>")
    return f"<h2>保管记录</h2><table>{head}{''.join(rows)}</table>"


def _instructions(manifest: Mapping[str, Any]) -> str:
    chain = manifest.get("chain")
    contract = _e(chain["contract"]) if chain else "CONTRACT"
    return f"""<h2>独立核验方法</h2>
<p>核验无需访问导出系统或其数据库,只需本证据包、Python 3 标准库,
以及(链上核验时)任一区块链 JSON-RPC 节点,例如法院自己运行的节点。</p>
<h3>一、使用核验工具</h3>
<pre><code>python -m evidence_verify package case.zip --rpc http://节点地址:8545
# 或安装本系统后:evidence verify-package case.zip --rpc http://节点地址:8545</code></pre>
<p>退出码:0 通过;1 失败(报告列出被篡改、缺失或多出的文件);2 格式错误;
3 无法访问区块链节点;4 部分条目尚未锚定。</p>
<h3>二、手工核验</h3>
<ol>
<li>解压后,用 <code>sha256sum</code> 计算每个文件的摘要,与 <code>manifest.json</code>
中 <code>files</code> 所列逐一比对;压缩包中不得有未列出的文件。</li>
<li>每件证物的 SHA-256、SM3、大小须与 <code>proofs/&lt;证物ID&gt;.json</code> 中的日志条目一致:
<code>jq -r .entry.bytes_b64 proofs/ID.json | base64 -d</code>。</li>
<li>条目的叶哈希 <code>(printf '\\x00'; cat entry.json) | sha256sum</code> 须等于
<code>leaf_hash</code>;按 RFC 9162 §2.1.3.2 折叠 <code>inclusion_path</code> 得到根哈希,
须等于 <code>root</code>。</li>
<li>向区块链查询该树大小的锚定根哈希,须等于 <code>root</code>:
<code>cast call {contract} 'anchorOf(uint64)(bytes32,uint64,uint64)' 树大小
--rpc-url 节点地址</code>。</li>
<li><code>custody.json</code> 中每个保管事件的证明按第 2-4 步同样核验。</li>
</ol>
<p>格式说明见 docs/package-format.md 与 docs/proof-format.md。</p>"""
