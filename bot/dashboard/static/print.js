// A "Cetak" button: the browser's print dialog (the page's print stylesheet does the rest).
// A file of its own: the dashboard's Content-Security-Policy allows no inline script.
document.querySelectorAll("[data-print]").forEach(function (button) {
  button.addEventListener("click", function () { window.print(); });
});
