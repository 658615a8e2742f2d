// The web interface's script: a first step that shows who this node is (the full page follows).
'use strict';
fetch('/api/session')
  .then((r) => r.json())
  .then((s) => {
    const main = document.getElementById('app') || document.body;
    const p = document.createElement('p');
    p.textContent = `kortnod: ${s.node.name} (${s.node.role})`;
    main.appendChild(p);
  });
