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
  const { models, pending, device, max_upload: maxUpload } = await api('/api/models');
  $('device').textContent = `models run on ${device}`;
  state.maxUpload = maxUpload;
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
  if (pending) setTimeout(() => loadModels().catch((e) => showError(e.message)), 2000);
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
  if (!c.auto) $('auto').checked = false;  // before the level's controls read it
  $('auto').disabled = !c.auto;
  for (const id of ['cleanup', 'cleanup-n']) $(id).disabled = !c.cleanup || $('auto').checked;
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
    if (state.maxUpload && file.size > state.maxUpload) {
      problems.push(`${file.name}: ${file.size} bytes, allowed up to ${state.maxUpload / 2 ** 20} MiB`);
      continue;
    }
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
    tile: number('tile'),  // blank: the server's tiles of 1024
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
    if (s.state === 'done') {
      $('timing').dataset.doneMs = (performance.now() - state.started).toFixed(0);
      try { await show(s); } catch (e) { showError(e.message); }
    }
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
