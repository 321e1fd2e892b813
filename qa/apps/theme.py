"""The chat's look: system fonts, its stylesheet and the script that turns [n] markers into source links."""


import gradio as gr

# The [n] links live inside the chat, a component Python cannot listen to; one document-level
# listener turns a click on any "#cite-<turn>-<n>" link into a click event of the sources panel.
SOURCES_JS = """
window.__qaSelectCitation = (turn, n) => trigger('click', {turn: turn, n: n});
if (!window.__qaCiteListener) {
  window.__qaCiteListener = true;
  document.addEventListener('click', (event) => {
    const link = event.target.closest ? event.target.closest('a[href^="#cite-"]') : null;
    if (!link) return;
    const m = link.getAttribute('href').match(/^#cite-(\\d+)-(\\d+)$/);
    if (!m) return;
    event.preventDefault();
    event.stopPropagation();
    window.__qaSelectCitation(Number(m[1]), Number(m[2]));
  }, true);
}
// An opened article starts at its first line when the quote shows there; otherwise the quote comes a few whole lines
// down, so no line is cut in half under the article's title.
const CONTEXT_LINES = 2;
watch('value', () => {
  const mark = element.querySelector('mark.qa-quote');
  const box = element.querySelector('.qa-article-text');
  if (!mark || !box) return;
  const line = parseFloat(getComputedStyle(box).lineHeight);
  const fits = mark.offsetTop + mark.offsetHeight <= box.clientHeight;
  box.scrollTop = fits ? 0 : Math.max(0, Math.floor(mark.offsetTop / line) - CONTEXT_LINES) * line;
  element.querySelector('.qa-article').scrollIntoView({block: 'nearest'});
});
"""


# The system's own fonts: the default theme's web fonts are fetched from the server, in two weights only, and bold
# capitals showed in another face; system fonts load nothing and have every weight.
FONTS = ("system-ui", "-apple-system", "Segoe UI", "Roboto", "Noto Sans", "Liberation Sans", "Arial", "sans-serif")


MONO_FONTS = ("ui-monospace", "SF Mono", "Menlo", "Consolas", "DejaVu Sans Mono", "Liberation Mono", "monospace")


THEME = gr.themes.Default(font=FONTS, font_mono=MONO_FONTS)


def _font_stack(fonts: tuple[str, ...]) -> str:
    return ", ".join(f'"{f}"' if " " in f else f for f in fonts)


# The fonts again as variables, for `qa serve`, which mounts the chat with this CSS and Gradio's default theme.
CSS = f"""
:root, .gradio-container {{ --font: {_font_stack(FONTS)}; --font-mono: {_font_stack(MONO_FONTS)}; }}
""" + """
#qa-title h1 { margin-bottom: 0; }
#qa-title p { margin-top: 0.25rem; color: var(--body-text-color-subdued); }
.qa-answer p { margin: 0 0 0.5em 0; }
a.qa-cite { font-weight: 600; text-decoration: none; color: var(--color-accent); cursor: pointer;
  padding: 0 2px; border-radius: 4px; }
a.qa-cite:hover { background: var(--color-accent-soft); }
a.qa-cite.qa-selected { background: var(--color-accent); color: white; }
.qa-streaming { opacity: 0.75; }
.qa-translation { font-style: italic; color: var(--body-text-color-subdued); }
.qa-refusal { border-left: 4px solid #9ca3af; padding: 0.25em 0.75em; font-style: italic; }
.qa-refusal .qa-hint { font-style: normal; font-size: 0.85em; color: var(--body-text-color-subdued); margin-top: 0.25em; }
.qa-differ { color: #b45309; font-weight: 600; font-size: 0.85em; margin-bottom: 0.3em; }
.qa-removed { margin-top: 0.6em; font-size: 0.85em; border-top: 1px dashed #d97706; padding-top: 0.4em; }
.qa-removed-label { color: #b45309; font-weight: 600; }
.qa-removed s { color: var(--body-text-color-subdued); }
.qa-unsupported { background: #fde68a; color: #78350f; border-radius: 3px; padding: 0 3px; font-size: 0.8em; }
/* The notice areas take no room while they hold no notice. */
#qa-progress .html-container, #qa-notice .html-container { padding: 0; }
#qa-progress:not(:has(.qa-notice)), #qa-notice:not(:has(.qa-notice)) { display: none; }
.qa-notice { border-radius: 8px; padding: 0.6em 0.9em; overflow: hidden; }
.qa-notice-error { background: #fee2e2; color: #7f1d1d; border: 1px solid #fca5a5; }
.qa-notice-warning { background: #fef3c7; color: #78350f; border: 1px solid #fcd34d; }
/* The thank-you fades in place and only then gives its room back: shrinking while visible, its text spilled over the
   top of the chat box. */
.qa-notice-info { background: #e0f2fe; color: #0c4a6e; border: 1px solid #7dd3fc; animation: qa-fade 6s ease forwards, qa-gone 0s 6s forwards; }
@keyframes qa-fade { 0%, 75% { opacity: 1; } 100% { opacity: 0; } }
@keyframes qa-gone { to { visibility: hidden; height: 0; padding: 0; margin: 0; border-width: 0; } }
.qa-progress progress { width: 100%; margin-top: 0.4em; }
#qa-ask, #qa-clear { min-width: max-content !important; white-space: nowrap; }
/* The saved chats' list opens wider than its narrow column, so each chat reads on a line or two. */
#qa-chat-list .options, #qa-chat-list .options .item { width: min(32rem, 90vw) !important; }
.qa-sources h3, .qa-passages h3 { margin: 0.2em 0 0.4em 0; font-size: 1.05em; }
.qa-empty { color: var(--body-text-color-subdued); font-size: 0.9em; }
.qa-source { border: 1px solid var(--border-color-primary); border-radius: 8px; padding: 0.5em 0.7em; margin-bottom: 0.5em; }
.qa-source-title { font-weight: 600; }
.qa-meta { font-size: 0.85em; color: var(--body-text-color-subdued); }
.qa-lang { text-transform: uppercase; font-size: 0.75em; border: 1px solid var(--border-color-primary);
  border-radius: 4px; padding: 0 4px; }
.qa-source-quote { font-size: 0.88em; margin: 0.3em 0 0 0; }
.qa-article { border: 1px solid var(--color-accent); border-radius: 8px; padding: 0.6em 0.8em; margin-top: 0.6em; }
.qa-article-text { position: relative; white-space: pre-wrap; max-height: 420px; overflow-y: auto; font-size: 0.9em; line-height: 1.5; }
mark.qa-quote { background: #fde047; color: #111827; padding: 1px 0; border-radius: 2px; }
.qa-confidence { font-size: 0.8em; color: #6b7280; margin-top: 0.3em; }
.qa-partial { border-left: 3px solid #f59e0b; padding-left: 0.5em; }
.qa-passage { font-size: 0.85em; border-bottom: 1px solid var(--border-color-primary); padding: 0.4em 0; }
.qa-scores { font-family: var(--font-mono); font-size: 0.8em; color: var(--body-text-color-subdued); }
.qa-report ul { margin: 0.2em 0 0.2em 1.2em; }
"""
