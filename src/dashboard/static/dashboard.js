// Conveyor dashboard: progressive enhancements only (every page works without this file).
// "Select all" on the jobs table.
document.addEventListener('change', (event) => {
  const box = event.target;
  if (!(box instanceof HTMLInputElement) || !box.classList.contains('select-all')) return;
  const table = box.closest('table');
  if (!table) return;
  for (const el of table.querySelectorAll('input[type=checkbox][name=id]')) el.checked = box.checked;
});
