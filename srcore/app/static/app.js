// srcore-app's page: talks to its own server only (srcore/app/server.py lists the API).
'use strict';

const $ = (id) => document.getElementById(id);
const state = { source: null, job: null, cards: {}, zoom: null, split: 50, started: 0 };

async function api(path, options = {}) {
  const response = await fetch(path, options);
  const body = await response.json();
  if (!response.ok || body.error) throw new Error(body.error || `${path}: ${response.status}`);
  return body;
}

function showError(message) {
  $('error').textContent = message;
  $('error').hidden = !message;
}

// a model's name as the page shows it: a file named by its path shows its file name
function short(label) { return label.split(/[\\/]/).pop(); }

function say(text) { $('status').textContent = text; }

// -- models --
async function loadModels() {
  const { models, pending, device } = await api('/api/models');
  $('device').textContent = `models run on ${device}`;
  const keep = { model: $('model').value, compare: $('compare').value };
  const fixed = [...$('compare').querySelectorAll('option')].slice(0, 2);
  $('model').replaceChildren();
  $('compare').replaceChildren(...fixed);
  for (const m of models) {
    const label = m.origin === 'experiment' ? `${m.name} (experiment)` : short(m.name);
    for (const select of [$('model'), $('compare')]) {
      const option = new Option(label, m.name);
      option.title = m.name;
      select.append(option);
    }
  }
  if (keep.model) $('model').value = keep.model;
  if (keep.compare) $('compare').value = keep.compare;
  if (!models.length) say('No model: train one (dvc repro) or name a model file: srcore-app MODEL');
  if (pending) setTimeout(loadModels, 2000);
  if ($('model').value && $('model').value !== keep.model) await chooseModel();
}

async function card(name) {
  if (!state.cards[name]) state.cards[name] = await api(`/api/models/${encodeURIComponent(name)}`);
  return state.cards[name];
}

async function chooseModel() {
  showError('');
  const name = $('model').value;
  let c;
  try { c = await card(name); } catch (e) { showError(e.message); return; }
  const [low, high] = c.scales;
  for (const id of ['scale', 'scale-n']) {
    Object.assign($(id), { min: low, max: high, disabled: low === high });
  }
  setScale(Math.min(Math.max(Number($('scale-n').value) || c.scale, low), high));
  if (low === high) setScale(c.scale);
  for (const id of ['cleanup', 'cleanup-n']) $(id).disabled = !c.cleanup || $('auto').checked;
  $('auto').disabled = !c.auto;
  if (!c.auto) $('auto').checked = false;
  $('steps').placeholder = c.onnx ? '1 (graph)' : `${c.steps[0]} of ${c.steps[1]}`;
  const notes = [low === high ? `x${low} only` : `x${low} to x${high}`];
  notes.push(c.cleanup ? 'clean-up knob' : 'no clean-up knob');
  if (c.onnx) notes.push('ONNX graph: one step, no ensemble');
  $('model-note').textContent = notes.join(' · ');
}

async function chooseCompare() {
  showError('');
  const name = $('compare').value;
  if (name === 'bicubic' || name === 'original') return;
  try { await card(name); } catch (e) { showError(e.message); }
}

function setScale(v) { $('scale').value = v; $('scale-n').value = v; }
function setCleanup(v) { $('cleanup').value = v; $('cleanup-n').value = v; }

// -- images --
function addInput(described) {
  const li = document.createElement('li');
  li.dataset.id = described.id;
  li.title = `${described.name}: ${described.width} x ${described.height}, ${described.bits} bits`
    + (described.alpha ? ', alpha' : '') + (described.grey ? ', grey' : '');
  const img = new Image();
  img.src = `/api/inputs/${described.id}.png`;
  img.alt = described.name;
  li.append(img, described.name);
  li.addEventListener('click', () => selectInput(described, li));
  $('inputs').append(li);
  selectInput(described, li);
}

function selectInput(described, li) {
  state.source = described;
  for (const other of $('inputs').children) other.classList.toggle('current', other === li);
  say(`${described.name}: ${described.width} x ${described.height}`);
}

async function upload(files) {
  showError('');
  const problems = [];
  for (const file of files) {
    try {
      say(`reading ${file.name} …`);
      const headers = { 'X-Name': encodeURIComponent(file.name) };
      addInput(await api('/api/inputs', { method: 'POST', headers, body: file }));
    } catch (e) { problems.push(e.message); }
  }
  if (problems.length) { showError(problems.join('\n')); say(''); }
}

async function loadSamples() {
  const { samples } = await api('/api/samples');
  for (const name of samples) $('sample').append(new Option(name, name));
  $('sample').hidden = !samples.length;
}

async function chooseSample() {
  const name = $('sample').value;
  if (!name) return;
  showError('');
  try { addInput(await api(`/api/inputs?sample=${encodeURIComponent(name)}`, { method: 'POST' })); }
  catch (e) { showError(e.message); }
  $('sample').value = '';
}

// -- running --
function settings() {
  const number = (id) => ($(id).value === '' ? null : Number($(id).value));
  const shrink = document.querySelector('input[name=mode]:checked').value === 'shrink';
  let cleanup = null;
  const c = state.cards[$('model').value];
  if (c && c.cleanup) cleanup = $('auto').checked ? 'auto' : number('cleanup-n');
  return {
    source: state.source && state.source.id,
    model: $('model').value,
    compare: $('compare').value,
    mode: shrink ? 'shrink' : 'upscale',
    degradation: $('degradation').value,
    scale: number('scale-n'),
    cleanup,
    steps: number('steps'),
    ensemble: $('ensemble').checked,
    seed: number('seed') ?? 0,
    tile: number('tile') ?? 0,
  };
}

async function run() {
  showError('');
  if (!state.source) { showError('Give an image first (drop one, or pick a validation image).'); return; }
  if (!$('model').value) { showError('No model to run.'); return; }
  if (state.job) await cancel();
  state.started = performance.now();
  let job;
  try { job = (await api('/api/jobs', { method: 'POST', body: JSON.stringify(settings()) })).job; }
  catch (e) { showError(e.message); return; }
  state.job = job;
  $('cancel').disabled = false;
  $('progress').value = 0;
  say('starting …');
  let version = -1;
  while (state.job === job) {
    let s;
    try { s = await api(`/api/jobs/${job}?after=${version}`); }
    catch (e) { showError(e.message); break; }
    version = s.version;
    $('progress').value = s.fraction;
    if (s.stage) say(s.stage);
    if (s.state === 'running') continue;
    if (s.state === 'done') { $('timing').dataset.doneMs = (performance.now() - state.started).toFixed(0); await show(s); }
    else if (s.state === 'cancelled') say('cancelled');
    else { say(''); showError(s.error); }
    break;
  }
  if (state.job === job) { state.job = null; $('cancel').disabled = true; }
}

async function cancel() {
  const job = state.job;
  if (!job) return;
  state.job = null;
  $('cancel').disabled = true;
  say('cancelling …');
  try { await api(`/api/jobs/${job}/cancel`, { method: 'POST' }); } catch (e) { showError(e.message); }
}

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

function wireInputs() {
  const drop = $('drop');
  drop.addEventListener('dragover', (e) => { e.preventDefault(); drop.classList.add('over'); });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', (e) => {
    e.preventDefault();
    drop.classList.remove('over');
    upload([...e.dataTransfer.files]);
  });
  $('files').addEventListener('change', () => { upload([...$('files').files]); $('files').value = ''; });
  $('sample').addEventListener('change', chooseSample);
}

function wireSettings() {
  $('scale').addEventListener('input', () => setScale($('scale').value));
  $('scale-n').addEventListener('change', () => { $('scale').value = $('scale-n').value; });
  $('cleanup').addEventListener('input', () => setCleanup($('cleanup').value));
  $('cleanup-n').addEventListener('change', () => { $('cleanup').value = $('cleanup-n').value; });
  $('auto').addEventListener('change', () => {
    for (const id of ['cleanup', 'cleanup-n']) $(id).disabled = $('auto').checked;
  });
  $('model').addEventListener('change', chooseModel);
  $('compare').addEventListener('change', chooseCompare);
  for (const radio of document.querySelectorAll('input[name=mode]')) {
    radio.addEventListener('change', () => {
      const shrink = radio.value === 'shrink' && radio.checked;
      document.body.classList.toggle('shrink', shrink);
      $('run').textContent = shrink ? 'Shrink and upscale' : 'Upscale';
      if (!shrink && $('compare').value === 'original') $('compare').value = 'bicubic';
    });
  }
  $('run').addEventListener('click', run);
  $('cancel').addEventListener('click', cancel);
}

async function start() {
  wireInputs();
  wireSettings();
  wireCompare();
  setSplit(50);
  try { await Promise.all([loadModels(), loadSamples()]); } catch (e) { showError(e.message); }
  if ($('model').value && !state.cards[$('model').value]) await chooseModel();
}

start();
