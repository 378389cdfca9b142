// The API reference page: start ReDoc on the schema, its style elements carrying the page's
// style nonce (the strict CSP refuses style elements without it).
(function () {
  // ReDoc's side menu always shows Redocly's logo from their CDN: the page makes no
  // third-party request (and the CSP would refuse it), so that image is left empty and hidden.
  const thirdParty = (value) => String(value).startsWith("https://cdn.redoc.ly/");
  const setAttribute = Element.prototype.setAttribute;
  HTMLImageElement.prototype.setAttribute = function (name, value) {
    if (name === "src" && thirdParty(value)) {
      this.hidden = true;
      return undefined;
    }
    return setAttribute.call(this, name, value);
  };
  const src = Object.getOwnPropertyDescriptor(HTMLImageElement.prototype, "src");
  Object.defineProperty(HTMLImageElement.prototype, "src", {
    ...src,
    set(value) {
      if (thirdParty(value)) {
        this.hidden = true;
      } else {
        src.set.call(this, value);
      }
    },
  });
  const container = document.getElementById("redoc-container");
  Redoc.init(container.dataset.specUrl, { nonce: container.dataset.styleNonce }, container);
})();
