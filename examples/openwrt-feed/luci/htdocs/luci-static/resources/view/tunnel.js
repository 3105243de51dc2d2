'use strict';
'require view';
'require form';

return view.extend({
	render: function() {
		var m = new form.Map('tunnel', _('Tunnel'), _('The VPN tunnel daemon.'));
		var s = m.section(form.TypedSection, 'tunnel');
		s.anonymous = true;
		s.option(form.Flag, 'enabled', _('Enabled'));
		return m.render();
	}
});
