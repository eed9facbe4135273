"""The web app's look: the page header, its CSS and the gradio theme (local fonts only)."""

from __future__ import annotations

import gradio as gr

HEADER = (
    '<div class="rag-header"><h1>政策文件问答</h1>'
    '<p>就《北约2022战略概念》和联合国文件 S/2003/85（北约布拉格反恐决定与《伙伴关系反恐行动计划》）提问。'
    '回答只摘录文件原文，每句标注出处段落 [n]，点开出处可看全文；离线运行。'
    '在“我的文档”里可以添加自己的文件（.txt .md .html .pdf .docx）。</p></div>'
)

CSS = """
.rag-understood { color: #555; font-size: 0.9em; margin-bottom: 6px; font-style: italic; }
.gradio-container { max-width: 1080px !important; margin: 0 auto !important; }
.rag-header h1 { font-size: 1.6rem; margin: 0.2rem 0 0.3rem; }
.rag-header p { margin: 0 0 0.4rem; color: var(--body-text-color-subdued); line-height: 1.6; }
.rag-reply, .rag-q, .rag-lookup { line-height: 1.75; font-size: 15px; }
.rag-text { margin-bottom: 0.6rem; }
.rag-cite, .rag-num { color: var(--color-accent); font-weight: 600; font-size: 0.85em;
  margin: 0 0.1em; white-space: nowrap; }
.rag-sources-title { font-size: 0.85em; font-weight: 600; color: var(--body-text-color-subdued);
  margin: 0.5rem 0 0.25rem; letter-spacing: 0.05em; }
.rag-src, .rag-hits { border: 1px solid var(--border-color-primary); border-radius: 8px;
  margin: 0.35rem 0; padding: 0.35rem 0.6rem; background: var(--background-fill-primary); }
.rag-src > summary, .rag-hits > summary { cursor: pointer; }
.rag-src > summary > span { margin-right: 0.5em; }
.rag-label { font-weight: 600; }
.rag-id { font-family: var(--font-mono); font-size: 0.8em; color: var(--body-text-color-subdued);
  background: var(--background-fill-secondary); border-radius: 4px; padding: 0 0.35em; margin: 0 0.35em; }
.rag-score { font-size: 0.8em; color: var(--body-text-color-subdued); }
.rag-snippet { display: block; color: var(--body-text-color-subdued); font-size: 0.9em; margin-left: 1.1em; }
details[open] > summary > .rag-snippet { display: none; }
#rag-chat .icon-button-wrapper.top-panel { display: none; }  /* the "清空对话" button does this */
.rag-path { font-size: 0.85em; color: var(--body-text-color-subdued); margin: 0.4rem 0 0.2rem; }
.rag-para { white-space: normal; }
.rag-para mark { background: #fde68a; color: inherit; padding: 0.05em 0.1em; border-radius: 3px; }
.rag-note { font-size: 0.85em; color: var(--body-text-color-subdued); font-style: italic; margin-bottom: 0.3rem; }
.rag-notfound { border-left: 4px solid #d97706; background: rgba(217, 119, 6, 0.08); padding: 0.45rem 0.7rem;
  border-radius: 4px; font-weight: 600; }
.rag-hint { color: var(--body-text-color-subdued); }
.rag-error { border-left: 4px solid #dc2626; background: rgba(220, 38, 38, 0.07); padding: 0.45rem 0.7rem;
  border-radius: 4px; }
.rag-hits ol { margin: 0.3rem 0 0.2rem 1.2rem; font-size: 0.9em; }
.rag-lookup-head { font-size: 1.1rem; margin-bottom: 0.2rem; }
.rag-ctx { border: 1px solid var(--border-color-primary); border-radius: 8px; padding: 0.5rem 0.8rem;
  margin: 0.5rem 0; color: var(--body-text-color-subdued); }
.rag-ctx.rag-current { border: 2px solid var(--color-accent); color: var(--body-text-color);
  background: var(--background-fill-primary); }
.rag-ctx-head { font-size: 0.85em; margin-bottom: 0.2rem; }
#rag-lookup-out { min-height: 120px; }
.rag-docs { width: 100%; border-collapse: collapse; font-size: 14px; line-height: 1.6; }
.rag-docs th, .rag-docs td { text-align: left; padding: 0.3rem 0.5rem; border-bottom: 1px solid var(--border-color-primary); }
.rag-docs th { font-weight: 600; color: var(--body-text-color-subdued); }
.rag-docs td.rag-doc-n { text-align: right; }
.rag-docs tr.rag-doc-library td:first-child { border-left: 3px solid var(--color-accent); }
.rag-doc-status { line-height: 1.6; }
#rag-remove-row { align-items: flex-end; }
#rag-remove { max-height: 2.8rem; }
.rag-doc-ok { border-left: 4px solid #16a34a; background: rgba(22, 163, 74, 0.08); padding: 0.45rem 0.7rem;
  border-radius: 4px; }
"""

FONT_STACK = ["system-ui", "-apple-system", "Segoe UI", "PingFang SC", "Hiragino Sans GB", "Microsoft YaHei",
              "Noto Sans CJK SC", "Source Han Sans SC", "WenQuanYi Micro Hei", "sans-serif"]


def theme() -> gr.themes.Base:
    # Local font names only: the page must not fetch web fonts (the app runs offline).
    return gr.themes.Default(primary_hue="blue", font=FONT_STACK,
                             font_mono=["ui-monospace", "SFMono-Regular", "Menlo", "Consolas", "monospace"])
