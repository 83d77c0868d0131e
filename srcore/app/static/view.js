// srcore-app's view: the two sides of the slider, the linked pixel zoom, the scores and downloads.
// Loaded before app.js, whose globals ($, state, short, say) these functions use when called.
'use strict';

function loaded(img, src) {
  return new Promise((resolve, reject) => {
    img.onload = () => resolve();
    img.onerror = () => reject(new Error(`could not show ${src}`));
    img.src = src;
  });
}

async function show(status) {
  const { left, right } = status.sides;
  await Promise.all([
    loaded($('left-img'), `/api/results/${left.id}.png`),
    loaded($('right-img'), `/api/results/${right.id}.png`),
  ]);
  const ms = performance.now() - state.started;
  const view = $('compare-view');
  view.classList.remove('empty');
  view.classList.toggle('checker', Boolean(state.source && state.source.alpha));
  for (const [id, side] of [['left', left], ['right', right]]) {
    const text = short(side.label) + (side.level != null ? ` (clean-up ${side.level})` : '');
    for (const tag of [$(`${id}-tag`), $(`zoom-${id}-tag`)]) {
      tag.textContent = text;
      tag.title = side.label;
    }
  }
  const took = (side) => (side.cached ? 'kept' : `${side.seconds.toFixed(2)} s`);
  $('timing').textContent = `${right.width} x ${right.height} · ${short(right.label)} `
    + `${took(right)} · ${short(left.label)} ${took(left)} · ${(ms / 1000).toFixed(2)} s in all`;
  $('timing').dataset.ms = ms.toFixed(0);
  say(`done: ${right.width} x ${right.height}`);
  showScores([status.sides.bicubic, left, right].filter(Boolean));
  showDownloads([left, right]);
  if (!state.zoom) state.zoom = { x: right.width / 2, y: right.height / 2 };
  fitView();
}

// the view as large as the column and 78% of the window allow; shown pixels are never smoothed
function fitView() {
  const img = $('left-img');
  if (!img.naturalWidth) return;
  const room = $('view').clientWidth, tall = window.innerHeight * 0.78;
  const k = Math.min(room / img.naturalWidth, tall / img.naturalHeight);
  $('compare-view').style.width = $('split').style.width = `${Math.floor(img.naturalWidth * k)}px`;
  $('compare-view').classList.toggle('enlarged', k > 1);
  drawZoom();
}

function showScores(sides) {
  const table = $('scores');
  table.hidden = !sides.some((s) => s.scores);
  const rows = sides.filter((s) => s.scores).map((s) => {
    const tr = document.createElement('tr');
    const fixed = (v, digits) => (v === null ? 'identical' : v.toFixed(digits));
    for (const text of [short(s.label), fixed(s.scores.psnr_y, 2), fixed(s.scores.ssim_y, 4)]) {
      const td = document.createElement('td');
      td.textContent = text;
      tr.append(td);
    }
    return tr;
  });
  table.tBodies[0].replaceChildren(...rows);
}

function showDownloads(sides) {
  const links = sides.filter((s) => s.label !== 'original').map((s) => {
    const a = document.createElement('a');
    a.href = `/api/results/${s.id}/file`;
    a.textContent = `download ${short(s.label)}`;
    a.download = '';
    return a;
  });
  $('downloads').replaceChildren(...links);
}

// -- the slider and the linked zoom --
function setSplit(percent) {
  state.split = Math.min(100, Math.max(0, percent));
  $('right-img').style.clipPath = `inset(0 0 0 ${state.split}%)`;
  $('divider').style.left = `${state.split}%`;
  $('split').value = state.split;
}

function drawZoom() {
  const img = $('right-img');
  if (!state.zoom || !img.naturalWidth) return;
  const f = Number($('zoom-factor').value);
  for (const [canvas, source] of [[$('zoom-left'), $('left-img')], [$('zoom-right'), img]]) {
    const ctx = canvas.getContext('2d');
    const w = canvas.width / f, h = canvas.height / f;
    const x = Math.round(within(state.zoom.x - w / 2, source.naturalWidth - w));
    const y = Math.round(within(state.zoom.y - h / 2, source.naturalHeight - h));
    ctx.imageSmoothingEnabled = false;
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    ctx.drawImage(source, x, y, w, h, 0, 0, canvas.width, canvas.height);
    if (source === img) placeLens(x, y, w, h);
  }
}

// the corner of the zoomed part: inside the image, or the image centred when it is smaller
function within(corner, room) { return room < 0 ? room / 2 : Math.min(Math.max(corner, 0), room); }

function placeLens(x, y, w, h) {
  const img = $('right-img');
  const k = img.clientWidth / img.naturalWidth;
  Object.assign($('lens').style, {
    left: `${x * k}px`, top: `${y * k}px`, width: `${w * k}px`, height: `${h * k}px`,
  });
}

function wireCompare() {
  const view = $('compare-view');
  let dragging = false;
  const at = (event) => {
    const box = view.getBoundingClientRect();
    return { fx: (event.clientX - box.left) / box.width, fy: (event.clientY - box.top) / box.height };
  };
  view.addEventListener('pointerdown', (event) => {
    dragging = true;
    view.setPointerCapture(event.pointerId);
    setSplit(at(event).fx * 100);
  });
  view.addEventListener('pointerup', () => { dragging = false; });
  view.addEventListener('pointermove', (event) => {
    const { fx, fy } = at(event);
    if (dragging) setSplit(fx * 100);
    const img = $('right-img');
    state.zoom = { x: fx * img.naturalWidth, y: fy * img.naturalHeight };
    drawZoom();
  });
  $('split').addEventListener('input', () => setSplit(Number($('split').value)));
  $('zoom-factor').addEventListener('change', drawZoom);
  window.addEventListener('resize', fitView);
}
