// The calls NHS's nhs-credential-manager-prescription-signing library makes, in the same order and with
// the same checks (docs/cm.md in the rxsign repository describes each one).
'use strict';
(function () {
  var params = new URLSearchParams(location.search);
  var PORTS = (params.get('ports') || '43487,44213,45031,46478,48853').split(',').map(Number);

  /** Port discovery: five GETs at once with credentials; the first answer wins, whatever it says. */
  async function findPort() {
    var data = await Promise.any(
      PORTS.map(async function (port) {
        var res = await fetch('http://localhost:' + port + '/PRS/GetPortNumber', {
          credentials: 'include',
        });
        if (!res.ok) {
          throw new Error('HTTP ' + res.status);
        }
        return res.json();
      }),
    );
    if (data.faultException) {
      throw new TypeError(data.faultException.code + ': ' + data.faultException.message);
    }
    return data.portData.portNumber;
  }

  /** One signing: a new hub connection (never stopped, as the library does), requestToSign, the checks. */
  async function signPrescription(base64Request) {
    var port = await findPort();
    var connection = window.signalRNoJQuery.hubConnection('http://localhost:' + port, {
      logging: false,
    });
    var hub = connection.createHubProxy('signingHub');
    await new Promise(function (resolve, reject) {
      connection.start({ transport: 'longPolling' }).done(resolve).fail(reject);
    });
    var response = await new Promise(function (resolve, reject) {
      hub.invoke('requestToSign', base64Request).done(resolve).fail(reject);
    });
    if (response.status_code !== 0) {
      var err = new TypeError('Error response from Credential Management.');
      err.response = response;
      throw err;
    }
    if (!response.certificate || !response.signatures.length) {
      throw new TypeError('Invalid response from Credential Management.');
    }
    return response;
  }

  function requestFor(digests, algorithm) {
    var json = JSON.stringify({
      algorithm: algorithm,
      requestType: 1,
      version: 1,
      flags: 0,
      payloads: digests.map(function (d, i) {
        return { id: 'rx-' + (i + 1), payload: d };
      }),
    });
    return btoa(String.fromCharCode.apply(null, new TextEncoder().encode(json)));
  }

  window.rxsignCmDemo = {
    findPort: findPort,
    signPrescription: signPrescription,
    requestFor: requestFor,
  };

  document.getElementById('sign').addEventListener('click', async function () {
    var out = document.getElementById('out');
    var digests = document.getElementById('digest').value.split(/\s+/).filter(Boolean);
    out.textContent = 'Signing… (approve on the rxsign page if it asks)';
    try {
      var r = await signPrescription(
        requestFor(digests, document.getElementById('algorithm').value),
      );
      out.textContent = JSON.stringify(r, null, 2);
    } catch (e) {
      out.textContent = String(e) + (e.response ? '\n' + JSON.stringify(e.response, null, 2) : '');
    }
  });
})();
