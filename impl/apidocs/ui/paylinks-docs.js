// Starts Swagger UI on #swagger-ui with the settings the page put in data attributes: the page has
// no inline script, so its Content-Security-Policy can forbid inline scripts altogether.
(function () {
  "use strict";
  var el = document.getElementById("swagger-ui");
  var demoKey = el.dataset.demoKey;
  window.ui = SwaggerUIBundle({
    url: el.dataset.specUrl,
    domNode: el,
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
    deepLinking: true,
    displayOperationId: true,
    defaultModelsExpandDepth: 0,
    // Nothing leaves this server: no validator badge, no remote $refs.
    validatorUrl: null,
    onComplete: function () {
      if (demoKey) {
        window.ui.preauthorizeApiKey("bearerAuth", demoKey);
      }
    },
  });
})();
