// Its widget's render loops forever.
/** @param {import('@patchbay/sdk/client').SodiumClient} sodium (types: sdk/client.d.ts) */
export default function (sodium) {
  sodium.ui.onRenderWidget('spin', () => {
    for (;;) { /* never returns */ }
  });
}
