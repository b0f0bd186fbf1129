export default function (sodium) {
  sodium.ui.addDashboardWidget({ id: 'spin', title: 'Spinner', size: 'small' });
}
