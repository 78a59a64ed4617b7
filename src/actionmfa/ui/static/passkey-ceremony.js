// Hosted passkey ceremony (WebAuthn L3): run create()/get() with the embedded options and hand
// the credential back to the app's loopback callback with a form POST. Plain JS, no build step.
"use strict";
(function () {
  var script = document.getElementById("ceremony-script");
  var kind = script.getAttribute("data-kind");
  var options = JSON.parse(document.getElementById("ceremony-options").textContent);
  var button = document.getElementById("start");
  var statusEl = document.getElementById("status");
  var errorEl = document.getElementById("error");
  var form = document.getElementById("handback");

  function b64uToBuf(s) {
    var b64 = s.replace(/-/g, "+").replace(/_/g, "/");
    while (b64.length % 4) b64 += "=";
    var bin = atob(b64);
    var out = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out.buffer;
  }
  function bufToB64u(buf) {
    var bytes = new Uint8Array(buf), bin = "";
    for (var i = 0; i < bytes.length; i++) bin += String.fromCharCode(bytes[i]);
    return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }
  function descriptors(list) {
    return (list || []).map(function (d) {
      var out = { type: d.type, id: b64uToBuf(d.id) };
      if (d.transports) out.transports = d.transports;
      return out;
    });
  }
  function creationOptions(o) {
    var pk = Object.assign({}, o);
    delete pk.ceremonyId;
    pk.challenge = b64uToBuf(o.challenge);
    pk.user = Object.assign({}, o.user, { id: b64uToBuf(o.user.id) });
    pk.excludeCredentials = descriptors(o.excludeCredentials);
    return pk;
  }
  function requestOptions(o) {
    var pk = Object.assign({}, o);
    delete pk.ceremonyId;
    pk.challenge = b64uToBuf(o.challenge);
    pk.allowCredentials = descriptors(o.allowCredentials);
    return pk;
  }
  function toJSON(cred) {
    if (typeof cred.toJSON === "function") return cred.toJSON();
    var r = cred.response, out = {
      id: cred.id, rawId: bufToB64u(cred.rawId), type: cred.type,
      authenticatorAttachment: cred.authenticatorAttachment || undefined,
      clientExtensionResults: cred.getClientExtensionResults(), response: {}
    };
    out.response.clientDataJSON = bufToB64u(r.clientDataJSON);
    if (r.attestationObject) {
      out.response.attestationObject = bufToB64u(r.attestationObject);
      if (r.getTransports) out.response.transports = r.getTransports();
    } else {
      out.response.authenticatorData = bufToB64u(r.authenticatorData);
      out.response.signature = bufToB64u(r.signature);
      if (r.userHandle) out.response.userHandle = bufToB64u(r.userHandle);
    }
    return out;
  }
  function handBack(field, value) {
    form.elements[field].value = value;
    statusEl.textContent = "Returning to the app…";
    form.submit();
  }

  button.addEventListener("click", function () {
    button.disabled = true;
    errorEl.hidden = true;
    statusEl.textContent = "Waiting for your passkey…";
    var pending = kind === "register"
      ? navigator.credentials.create({ publicKey: creationOptions(options) })
      : navigator.credentials.get({ publicKey: requestOptions(options) });
    pending.then(function (cred) {
      handBack("credential", JSON.stringify(toJSON(cred)));
    }).catch(function (err) {
      var name = (err && err.name) || "Error";
      errorEl.textContent = name === "NotAllowedError"
        ? "The passkey request was cancelled or timed out."
        : "The passkey request failed (" + name + ").";
      errorEl.hidden = false;
      handBack("error", name);
    });
  });
  statusEl.textContent = window.PublicKeyCredential ? "" : "This browser does not support passkeys.";
})();
