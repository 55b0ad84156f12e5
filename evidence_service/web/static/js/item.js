// One evidence item: status, hashes, proof, custody; for video, the analysis artefacts: a
// player with the WebVTT chapters and markers (clicking one seeks), key frames, contact
// sheet and summary clip. Artefacts are fetched with the bearer token and shown as blob
// URLs; the original is streamed with range requests under a playback grant (a cookie the
// API sets for the item's media path), so seeking in hours of footage loads only what plays.
import {
  api, badge, el, facts, fmtBytes, fmtTime, guard, hash, page, renderTimeline, saveJson,
  saveResponse, t,
} from './app.js';

const itemId = document.body.dataset.itemId;
// Each artefact is fetched once per page (every fetch is a custody event of the item).
const blobs = new Map();
const urls = new Map();

function getBlob(path) {
  if (!blobs.has(path)) blobs.set(path, api(path, { raw: true }).then((r) => r.blob()));
  return blobs.get(path);
}

async function blobUrl(path) {
  if (!urls.has(path)) urls.set(path, URL.createObjectURL(await getBlob(path)));
  return urls.get(path);
}

function artefactPath(a) {
  return `/artefacts/${a.id}/content?inline=true`;
}

function vttTime(text) {
  const parts = text.trim().split(':').map(Number);
  return parts.reduce((acc, v) => acc * 60 + v, 0);
}

export function parseVtt(text) {
  const cues = [];
  for (const block of text.replace(/\r/g, '').split(/\n\n+/)) {
    const lines = block.split('\n').filter(Boolean);
    const at = lines.findIndex((l) => l.includes('-->'));
    if (at < 0) continue;
    const [start, end] = lines[at].split('-->').map((s) => vttTime(s.split(' ').filter(Boolean)[0] || s));
    cues.push({ id: at > 0 ? lines[0] : '', start, end, text: lines.slice(at + 1).join(' ') });
  }
  return cues;
}

async function showItem() {
  const item = await api(`/items/${itemId}`);
  document.getElementById('item-heading').textContent = item.original_filename;
  const capture = Object.entries(item.capture).filter(([, v]) => v).map(([k, v]) => `${k}: ${v}`).join(' · ');
  const tags = Object.entries(item.tags).filter(([, v]) => v).map(([k, v]) => `${k}: ${v}`).join(' · ');
  facts(document.getElementById('item-facts'), [
    [t('item.status'), badge(item.status)],
    [t('item.kind'), t(`kind.${item.kind}`)],
    [t('item.size'), fmtBytes(item.size ?? item.declared_size)],
    ['SHA-256', hash(item.sha256)],
    ['SM3', hash(item.sm3)],
    [t('item.stored_at'), fmtTime(item.stored_at)],
    [t('item.capture'), capture || '—'],
    [t('item.tags'), tags || '—'],
  ]);
  return item;
}

let player = null;
async function loadPlayer(chapters) {
  const video = document.getElementById('player');
  if (!player) {
    player = (async () => {
      const grant = await api(`/items/${itemId}/playback`, { method: 'POST' });
      video.src = grant.url;
      if (chapters) {
        const vtt = await blobUrl(artefactPath(chapters));
        video.append(el('track', { kind: 'chapters', src: vtt, srclang: 'zh', label: 'chapters', default: true }));
      }
      video.hidden = false;
      document.getElementById('load-player').hidden = true;
      await new Promise((resolve) => {
        if (video.readyState >= 1) resolve();
        else video.addEventListener('loadedmetadata', resolve, { once: true });
      });
    })();
  }
  return player;
}

async function seek(seconds, chapters) {
  await loadPlayer(chapters);
  const video = document.getElementById('player');
  video.currentTime = seconds;
  video.focus();
}

async function showAnalysis() {
  const { jobs, artefacts } = await api(`/items/${itemId}/analysis`);
  const status = document.getElementById('analysis-status');
  const running = jobs.find((j) => j.status === 'queued' || j.status === 'running');
  if (running) {
    status.replaceChildren(badge('analysing'), ` ${Math.round(running.progress * 100)}%`);
    setTimeout(() => showAnalysis().catch(() => {}), 2000);
  } else {
    const last = jobs[jobs.length - 1];
    status.replaceChildren(last ? `${t(`job.${last.status}`)}${last.reason ? `: ${last.reason}` : ''}` : t('item.no_analysis'));
  }
  const byKind = (kind) => artefacts.filter((a) => a.kind === kind);
  const chapters = byKind('chapters')[0];
  const timelineArt = byKind('timeline')[0];
  const timeline = timelineArt ? JSON.parse(await (await getBlob(artefactPath(timelineArt))).text()) : null;
  document.getElementById('load-player').onclick = guard(() => loadPlayer(chapters));

  const markers = document.getElementById('markers');
  if (chapters) {
    const text = await (await getBlob(artefactPath(chapters))).text();
    const violation = timeline?.violation_start?.time;
    markers.replaceChildren(...parseVtt(text).map((cue) => {
      const kind = cue.id.split('-')[0] || 'chapter';
      const isViolation = violation !== undefined && Math.abs(cue.start - violation) < 0.001 && kind === 'event';
      return el('li', { class: `marker marker-${kind}${isViolation ? ' violation' : ''}` },
        el('button', { type: 'button', dataset: { start: cue.start, kind }, onclick: guard(() => seek(cue.start, chapters)) },
          `${cue.start.toFixed(2)} s`), ' ', cue.text);
    }));
  }
  const strip = document.getElementById('keyframes');
  const frames = byKind('keyframe');
  strip.replaceChildren();
  for (const frame of frames) {
    const info = timeline?.keyframes?.find((k) => k.file.endsWith(frame.name));
    const img = el('img', { alt: info ? `${info.time.toFixed(2)} s ${info.reason}` : frame.name, src: await blobUrl(artefactPath(frame)) });
    strip.append(el('button', { type: 'button', class: 'frame', dataset: { time: info?.time ?? '' },
      onclick: guard(() => info && seek(info.time, chapters)) }, img,
    el('span', {}, info ? `${info.time.toFixed(2)} s` : '')));
  }
  const sheet = byKind('contact_sheet')[0];
  if (sheet) {
    const img = document.getElementById('contact-sheet');
    img.src = await blobUrl(artefactPath(sheet));
    img.hidden = false;
  }
  const summary = byKind('summary')[0];
  if (summary) {
    const video = document.getElementById('summary');
    video.src = await blobUrl(artefactPath(summary));
    video.hidden = false;
  }
}

page(async () => {
  const item = await showItem();
  renderTimeline(document.getElementById('custody'), await api(`/items/${itemId}/custody`));
  document.getElementById('proof').addEventListener('click', guard(async () => {
    await saveJson(await api(`/evidence/${itemId}/proof`), `${item.original_filename}.proof.json`);
  }));
  document.getElementById('download').addEventListener('click', guard(async () => {
    await saveResponse(await api(`/items/${itemId}/content`, { raw: true }), item.original_filename);
  }));
  document.getElementById('reverify').addEventListener('click', guard(async () => {
    const verdict = await api(`/items/${itemId}/verify`, { method: 'POST' });
    const out = document.getElementById('reverify-result');
    out.dataset.verdict = verdict.verdict;
    out.replaceChildren(`${t('item.verdict')}: `, badge(verdict.verdict), ' ', verdict.reasons.join('; '));
    await showItem();
  }));
  if (item.media_type.startsWith('video/')) {
    document.getElementById('video').hidden = false;
    await showAnalysis();
  }
});
