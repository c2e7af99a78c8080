// The mailboxes page refreshes its rows every two seconds from /mailboxes/rows (server-rendered HTML).
(function () {
  var body = document.getElementById('mailbox-rows');
  if (!body) { return; }
  var stamp = document.getElementById('refreshed');
  function refresh() {
    fetch('/mailboxes/rows', { credentials: 'same-origin', redirect: 'manual', headers: { 'Accept': 'text/html' } })
      .then(function (response) {
        if (response.status !== 200) { throw new Error('status ' + response.status); }
        return response.text();
      })
      .then(function (html) {
        body.innerHTML = html;
        if (stamp) { stamp.textContent = new Date().toLocaleTimeString(); }
        setTimeout(refresh, 2000);
      })
      .catch(function () {
        if (stamp) { stamp.textContent = 'not refreshing: sign in again'; }
      });
  }
  setTimeout(refresh, 2000);
}());
