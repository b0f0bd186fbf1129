// Its widget's render loops forever.
export default function (sodium) {
  sodium.ui.onRenderWidget('spin', () => {
    for (;;) { /* never returns */ }
  });
}
