/**
 * The explorer's own browser files (served by explorer.ts as /explorer/<version>/explorer.js and
 * explorer.css): kept as text here so that the tsc-built layout (dist/) and the container image
 * carry them with no extra build step. Plain ES2017 for any current browser; it runs after React,
 * ReactDOM and graphiql's bundle have defined their globals.
 */

const DEFAULT_QUERY = `# Coalition Hub: GraphQL explorer (README, "Explore the API").
#
# Put a token in Headers below, as {"Authorization": "Bearer <token>"}:
# an operator, finance, partner or member token. \`npm start\` (the demo)
# fills in its operator token; \`npm run operator -- token <key file>\` mints one.
# Run with Ctrl-Enter or the ▶ button.

{
  partners(first: 5) {
    edges {
      node {
        id
        name
        status
      }
    }
  }
}
`;

export const EXPLORER_CLIENT_JS = `(function () {
  'use strict';
  var settings = JSON.parse(document.getElementById('explorer-settings').textContent);
  // Style elements that GraphiQL's dialogs add carry the page's nonce (its CSP allows no other inline style).
  window.__webpack_nonce__ = settings.styleNonce;
  var headers = Object.keys(settings.headers).length > 0 ? JSON.stringify(settings.headers, null, 2) : undefined;
  // A link with ?query=… (and variables, operationName) opens with that operation, as GraphQL over GET would run it.
  var params = new URLSearchParams(window.location.search);
  var root = ReactDOM.createRoot(document.getElementById('explorer'));
  root.render(
    React.createElement(GraphiQL, {
      fetcher: GraphiQL.createFetcher({ url: settings.endpoint }),
      defaultQuery: ${JSON.stringify(DEFAULT_QUERY)},
      query: params.get('query') || undefined,
      variables: params.get('variables') || undefined,
      operationName: params.get('operationName') || undefined,
      headers: headers,
      defaultHeaders: headers,
      isHeadersEditorEnabled: true,
      // Tokens stay in this page: never written to the browser's storage.
      shouldPersistHeaders: false,
      defaultEditorToolsVisibility: 'headers',
    }),
  );
})();
`;

export const EXPLORER_CLIENT_CSS = `html, body { height: 100%; margin: 0; }
#explorer { height: 100vh; }
`;
